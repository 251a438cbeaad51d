"""Rendering and splitting for Telegram, checked against the fake Bot API server's HTML parser
(itself tested here first, so that it is a trustworthy oracle), and the throttled live message."""
from __future__ import annotations

import asyncio

import pytest
from telegram import Bot
from telegram.error import BadRequest

from bot.core.answer import Answer, Citation
from bot.frontends.telegram.render import BUDGET, chunks, render_answer, render_text, units
from bot.frontends.telegram.streaming import Chat, LiveMessage
from tests.fakes.telegram_server import FakeTelegram, ParseError, parse_html, utf16_len

NASTY = "Символы <, > и & не ломают <b>разметку</b>; @everyone и **звёздочки** & «кавычки» 😀."


@pytest.mark.parametrize("bad", ["<b>open", "a </b> b", "<br>", "a & b", "1 < 2", "2 > 1", "<i><b>x</i></b>",
                                 "<blockquote><blockquote>x</blockquote></blockquote>", "<a>x</a>",
                                 '<span class="x" onclick="y">z</span>', "&nbsp;"])
def test_fake_server_rejects_what_telegram_rejects(bad):
    with pytest.raises(ParseError):
        parse_html(bad)


def test_fake_server_accepts_telegram_html():
    src = ('<b>T</b> &lt;&gt;&amp;&quot;&#39;&#x27; <blockquote expandable>q <i>i</i></blockquote>'
           '<a href="https://x">l</a><pre><code class="language-py">c</code></pre>')
    assert parse_html(src) == "T <>&\"'' q il" + "c"


def long_answer() -> Answer:
    cites = [Citation(n, f"gpt-models.txt:{n * 1000}-{n * 1000 + 99}", "gpt-models.txt", f"Раздел <{n}> & ко",
                      None if n % 2 else "2024-01-05 10:00", n * 10, n * 10 + 3, (NASTY + " ") * (30 * n))
             for n in range(1, 5)]
    return Answer("q", "ru", False, (NASTY + " ") * 120, cites)


def test_split_keeps_tags_and_quotes_whole():
    parts = render_answer(long_answer())
    assert len(parts) >= 4
    for part in parts:
        visible = parse_html(part)  # every part is balanced, escaped Telegram HTML
        assert utf16_len(visible) <= BUDGET
        assert part.count("<blockquote") == part.count("</blockquote>")
    joined = "".join(parse_html(p) for p in parts)
    assert joined.count("не ломают <b>разметку</b>") == 120 + 30 * (1 + 2 + 3 + 4)  # nothing lost
    assert "без даты" in joined and "строки 10–13" in joined and "2024-01-05 10:00" in joined
    assert "<blockquote expandable>" in "".join(parts)


def test_chunks_prefer_boundaries_and_count_utf16():
    text = "Первое предложение. " * 300 + "😀" * 5000
    pieces = chunks(text, 1000)
    assert all(units(p) <= 1000 for p in pieces)
    assert pieces[0].endswith("предложение.")
    assert "".join(p.replace(" ", "") for p in pieces) == text.replace(" ", "")


async def with_bot(scenario):
    async with FakeTelegram() as fake:
        async with Bot(fake.token, base_url=f"{fake.root}/bot", base_file_url=f"{fake.root}/file/bot") as bot:
            return await scenario(fake, bot)


def test_every_part_of_a_long_reply_is_accepted_by_the_server():
    async def scenario(fake, bot):
        parts = render_answer(long_answer())
        chat = Chat(bot, 100)
        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await chat.send("\n\n".join(parts))  # the server does check the limit
        with pytest.raises(BadRequest, match="(?i)can.t parse entities"):
            await chat.send(f"<b>{NASTY}</b>")  # … and the HTML
        await chat.send_parts(parts)
        await chat.send_parts(render_text(NASTY * 200))
        accepted = fake.requests("sendmessage", 100)
        assert [c.ok for c in accepted] == [False, False] + [True] * (len(accepted) - 2)
        assert len(accepted) - 2 == len(parts) + len(render_text(NASTY * 200))
    asyncio.run(asyncio.wait_for(with_bot(scenario), 20))


def test_live_message_throttles_skips_repeats_and_survives_flood():
    async def scenario(fake, bot):
        live = LiveMessage(Chat(bot, 100), interval=0.2)
        live.start(typing=True)
        for text in ("один", "один", "один два", "один два", "один два три"):
            live.update(text)
            await asyncio.sleep(0.02)  # all within one interval
        await asyncio.sleep(0.5)
        fake.flood("editMessageText", 100, retry_after=1)
        await live.finish(["<b>Ответ</b> &amp; цитата"])
        [message] = fake.chat(100)
        assert message.text == "Ответ & цитата" and message.parse_mode == "HTML"
        shown = [c.params["text"] for c in fake.requests(chat_id=100) if c.ok and c.method != "sendchataction"]
        assert shown == ["один", "один два три", "<b>Ответ</b> &amp; цитата"]
        [limited] = [c for c in fake.calls if c.status == 429]
        assert fake.calls[-1].at - limited.at >= 0.95
        assert fake.requests("sendchataction", 100)
    asyncio.run(asyncio.wait_for(with_bot(scenario), 20))
