"""The Discord front end end-to-end: the real discord.py client, over real sockets, against the
fake Discord in tests/fakes/discord_server.py, with the real core on the fixture corpus.

Each test acts as Discord users would (slash commands, mentions, DMs, button presses) and checks
what they would see. Every wait is bounded.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import discord
import discord.gateway
import discord.http

from bot.config import Secrets
from bot.core.admin import InProcessBuilder
from bot.frontends.discord import serve
from tests.fakes.discord_server import MESSAGE_CONTENT_INTENT, TOKEN, FakeDiscord

LORA = "Что такое LoRA?"


@contextlib.asynccontextmanager
async def running_bot(core, settings, *, guild: bool = True, stop: asyncio.Event | None = None):
    """The bot served against a fresh fake Discord; stopped (and checked to stop) on exit."""
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    fake = FakeDiscord()
    root = await fake.start()
    settings.secrets = Secrets(discord_token=TOKEN, discord_api_base_url=root)
    settings.discord.guild_id = fake.guild_id if guild else None
    settings.discord.admin_ids = [int(fake.users["alice"]["id"])]
    settings.discord.admin_role = "Moderators"
    settings.discord.edit_interval_s = 0.2
    stop = stop or asyncio.Event()
    task = asyncio.create_task(serve(core, settings, stop))
    try:
        ready = asyncio.ensure_future(fake.wait_ready(10))
        await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # a failed start surfaces here, not as a timeout
        await ready
        yield fake
        # Whatever a test did, nothing may have broken Discord's limits or pinged everyone.
        assert fake.rejected == []
        assert fake.pinged_everyone == []
        for p in fake.all_bot_payloads():
            if "content" in p:  # every message carries allowed_mentions=none (and pings no one it replies to)
                assert p.get("allowed_mentions", {}).get("parse") == [], p
                assert not p["allowed_mentions"].get("replied_user") and not p["allowed_mentions"].get("users"), p
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 20)
        finally:
            await fake.close()
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 45))


def build_in_process(core, settings, embedder) -> None:
    core.admin.builder = InProcessBuilder(settings, embedder)  # no subprocess in tests


# ---- slash commands -------------------------------------------------------------------------

def test_slash_ask_defers_then_answers_with_source_embeds(core, settings, llm):
    llm.delay_s = 1.2  # a slow model: the draft streams into the deferred message

    async def scenario():
        async with running_bot(core, settings) as fake:
            assert set(c["name"] for c in fake.commands[str(fake.guild_id)]) >= {"ask", "help", "new", "reindex",
                                                                                  "status", "add"}
            it = await fake.slash("bob", "ask", {"question": LORA})
            await fake.wait_for(lambda: it.original and it.original.embeds, what="the final answer")
            assert it.acked_type == 5 and it.acked_at - it.created < 3  # deferred in time
            msg = it.original
            assert "LoRA" in msg.content and msg.content.endswith("[1]")
            assert len(msg.history) >= 3, msg.history  # "thinking", at least one draft, the final answer
            assert any(h.endswith(" …") for h in msg.history[:-1])  # drafts were shown while streaming
            embed = msg.embeds[0]
            assert embed["title"].startswith("[1] Метод LoRA")
            assert "LoRA" in embed["description"]
            assert "2023-12-22" in embed["footer"]["text"] and "строки" in embed["footer"]["text"]
            assert any(cid.startswith("psg:sample.txt:") for cid in msg.custom_ids())
            assert [cid[:6] for cid in msg.custom_ids()[:2]] == ["fb:+1:", "fb:-1:"]
            assert not msg.ephemeral
    run(scenario())


def test_internal_attributes_still_route_the_client(core, settings):
    """DISCORD_API_BASE_URL relies on two internal discord.py attributes; fail loudly if they move."""
    assert discord.__version__.startswith("2.7."), "endpoint.py was checked against discord.py 2.7"
    assert isinstance(discord.http.Route.BASE, str)
    assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY).startswith(("wss://", "ws://"))

    async def scenario():
        async with running_bot(core, settings) as fake:
            assert discord.http.Route.BASE == f"{fake.root}/api/v10"
            assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == fake.ws_url
            # The client really went through both: REST login and a gateway IDENTIFY with our token.
            assert ("GET", "/api/v10/users/@me") in fake.requests
            assert ("GET", "/api/v10/oauth2/applications/@me") in fake.requests
            assert fake.identify["token"] == TOKEN
            assert fake.identify["intents"] & MESSAGE_CONTENT_INTENT
    run(scenario())


def test_off_topic_question_is_refused_without_sources(core, settings):
    async def scenario():
        async with running_bot(core, settings) as fake:
            it = await fake.slash("bob", "ask", {"question": "Как приготовить борщ?"})
            await fake.wait_for(lambda: it.original and it.original.history[-1] and
                                not it.original.history[-1].endswith("…"), what="the refusal")
            msg = it.original
            assert "нет ответа" in msg.content
            assert msg.embeds == [] and msg.custom_ids() == []
    run(scenario())


def test_long_answer_is_split_into_accepted_parts(core, settings, llm):
    sentence = "Для модели на 7 миллиардов параметров адаптер LoRA занимает около 20 мегабайт."
    llm.outputs.append(json.dumps({"answer": " ".join([sentence] * 60), "citations": [1]}, ensure_ascii=False))

    async def scenario():
        async with running_bot(core, settings) as fake:
            it = await fake.slash("bob", "ask", {"question": LORA})
            await fake.wait_for(lambda: any(m.embeds for m in it.shown()), what="the last part with sources")
            parts = it.shown()
            assert len(parts) >= 3
            assert all(0 < len(m.content) <= 2000 for m in parts)
            text = " ".join(m.content for m in parts)
            assert text.count("20 мегабайт") == 60  # nothing lost or cut mid-sentence at the seams
            assert all(m.content.rstrip().endswith(("[1]", ".")) for m in parts)
            assert [bool(m.embeds) for m in parts] == [False] * (len(parts) - 1) + [True]
            assert parts[-1].custom_ids() and not any(m.custom_ids() for m in parts[:-1])  # buttons last
    run(scenario())


def test_mention_in_a_channel_gets_a_reply_and_other_messages_are_ignored(core, settings):
    async def scenario():
        async with running_bot(core, settings) as fake:
            await fake.user_message("bob", "Что такое LoRA? (без упоминания)")
            question = await fake.user_message("bob", LORA, mention_bot=True)
            reply = (await fake.wait_for(lambda: [m for m in fake.bot_messages(fake.channel_id) if m.embeds],
                                         what="the answer"))[0]
            assert reply.reference == question.id
            assert reply.history[0] == "Ищу ответ в тексте…" and "LoRA" in reply.content
            assert reply.embeds[0]["title"].startswith("[1]")
            await asyncio.sleep(0.3)
            assert len(fake.bot_messages()) == 1  # the message without a mention was not answered
    run(scenario())


def test_direct_message_in_english_gets_english_labels(core, settings, llm):
    # An English answer the scripted model can ground in the Russian fixture: its figures and name.
    llm.outputs.append('{"answer": "LoRA: 7, 20.", "citations": [1]}')
    llm.translations["What does the text say about LoRA adapters?"] = "Сколько памяти занимает адаптер LoRA?"
    async def scenario():
        async with running_bot(core, settings) as fake:
            await fake.user_message("bob", "What does the text say about LoRA adapters?", dm=True)
            dm = fake.dm_channels["bob"]
            reply = (await fake.wait_for(lambda: [m for m in fake.bot_messages(dm) if m.embeds],
                                         what="the answer with sources in the DM"))[0]
            assert reply.guild_id is None
            assert reply.history[0] == "Looking for the answer in the text…"
            assert "lines" in reply.embeds[0]["footer"]["text"]  # English labels on the sources…
            assert "Passage [1]" in reply.labels()  # …and on the buttons
    run(scenario())


def test_markdown_and_everyone_in_the_corpus_are_neutralised(core, settings, llm):
    quoted = ("Символы вроде <, > и & в тексте не должны ломать разметку, а упоминание @everyone и **звёздочки** "
              "не должны ничего форматировать.")
    llm.outputs.append(json.dumps({"answer": quoted, "citations": [1]}, ensure_ascii=False))

    async def scenario():
        async with running_bot(core, settings) as fake:
            await fake.user_message("bob", "Какие символы не должны ломать разметку?", mention_bot=True)
            reply = (await fake.wait_for(lambda: [m for m in fake.bot_messages() if m.embeds], what="the answer"))[0]
            seen = reply.text()
            assert "@\u200beveryone" in seen and "\\*\\*звёздочки\\*\\*" in seen
            assert "<, > и &" in seen  # shown as typed: Discord needs no HTML escaping
            # The full passage, shown only to whoever pressed the button, is escaped too.
            button = next(cid for cid in reply.custom_ids() if cid.startswith("psg:"))
            it = await fake.click("carol", reply, button)
            await fake.wait_for(lambda: it.original and it.original.content, what="the passage")
            assert it.original.ephemeral
            assert "О галлюцинациях" in it.original.content and "@\u200beveryone" in it.original.content
            # harness: no payload pinged everyone, all carried allowed_mentions=none
    run(scenario())


def test_a_429_from_discord_does_not_lose_the_answer(core, settings):
    async def scenario():
        async with running_bot(core, settings) as fake:
            fake.fail_once_with_429("POST", r"/channels/\d+/messages$")
            fake.fail_once_with_429("PATCH", r"/messages/@original$")
            await fake.user_message("bob", LORA, mention_bot=True)
            await fake.wait_for(lambda: [m for m in fake.bot_messages(fake.channel_id) if m.embeds],
                                what="the channel answer after a 429")
            it = await fake.slash("carol", "ask", {"question": LORA})
            await fake.wait_for(lambda: it.original and it.original.embeds, what="the slash answer after a 429")
            assert len(fake.served_429) == 2
    run(scenario())


def test_rate_limited_user_sees_a_private_wait_notice(core, settings):
    from bot.core.service import RateLimiter

    core.service.limiter = RateLimiter(per_user=1, global_=60)

    async def scenario():
        async with running_bot(core, settings) as fake:
            first = await fake.slash("bob", "ask", {"question": LORA})
            await fake.wait_for(lambda: first.original and first.original.embeds, what="the first answer")
            second = await fake.slash("bob", "ask", {"question": LORA})
            await fake.wait_for(lambda: second.followups, what="the wait notice")
            assert second.original is None  # the public "thinking…" message was removed
            notice = second.followups[0]
            assert notice.ephemeral and "Подождите" in notice.content
    run(scenario())


def test_feedback_buttons_record_a_vote(core, settings):
    async def scenario():
        async with running_bot(core, settings) as fake:
            it = await fake.slash("bob", "ask", {"question": LORA})
            msg = await fake.wait_for(lambda: it.original if it.original and it.original.embeds else None,
                                      what="the answer")
            up = next(cid for cid in msg.custom_ids() if cid.startswith("fb:+1:"))
            assert any(cid.startswith("fb:-1:") for cid in msg.custom_ids())
            click = await fake.click("bob", msg, up)
            await fake.wait_for(lambda: click.original, what="the thanks")
            assert click.original.ephemeral and click.original.content == "Спасибо за отзыв!"
    run(scenario())
    assert core.store.db.execute("select value from feedback").fetchall() == [(1,)]


def test_help_and_new_follow_the_users_language(core, settings):
    async def scenario():
        async with running_bot(core, settings) as fake:
            ru = await fake.slash("bob", "help")
            en = await fake.slash("bob", "help", locale="en-US")
            new = await fake.slash("bob", "new")
            await fake.wait_for(lambda: ru.original and en.original and new.original, what="the replies")
            assert ru.original.ephemeral and "/ask" in ru.original.content and "Команды" in ru.original.content
            assert "Commands" in en.original.content
            assert new.original.content == "Начинаем заново: предыдущие вопросы забыты."
            # Slash command descriptions are localised for Russian clients.
            ask = next(c for c in fake.commands[str(fake.guild_id)] if c["name"] == "ask")
            assert ask["description_localizations"]["ru"] == "Задать вопрос по тексту"
    run(scenario())


def test_errors_reach_users_as_a_message_not_a_trace(core, settings, caplog):
    async def broken(*args, **kwargs):
        raise RuntimeError("boom: internal detail")

    core.service.ask = broken

    async def scenario():
        async with running_bot(core, settings) as fake:
            it = await fake.slash("bob", "ask", {"question": LORA})
            await fake.user_message("bob", LORA, mention_bot=True)
            await fake.wait_for(lambda: it.followups and len(fake.bot_messages(fake.channel_id)) >= 2,
                                what="both error notices")
            shown = " ".join(m.text() for m in fake.bot_messages())
            assert "Что-то пошло не так" in shown
            assert "boom" not in shown and "Traceback" not in shown
    with caplog.at_level(logging.DEBUG):
        run(scenario())
    assert "boom: internal detail" in caplog.text  # logged for the operator…
    assert TOKEN not in caplog.text  # …without the token


# ---- admin commands ---------------------------------------------------------------------------

def test_non_admin_reindex_is_refused(core, settings, embedder):
    build_in_process(core, settings, embedder)

    async def scenario():
        async with running_bot(core, settings) as fake:
            it = await fake.slash("bob", "reindex")
            await fake.wait_for(lambda: it.original and it.original.content, what="the refusal")
            assert it.original.ephemeral
            assert it.original.content.startswith("Эта команда доступна только администраторам")
            assert it.original.history == ["", it.original.content]  # no progress was shown
    run(scenario())


def test_admin_reindex_shows_progress_then_the_result(core, settings, embedder):
    build_in_process(core, settings, embedder)
    (settings.corpus_dir / "extra.md").write_text("# Дистилляция\n\nДистилляция переносит знания большой модели "
                                                 "в маленькую.\n", encoding="utf-8")

    async def scenario():
        async with running_bot(core, settings) as fake:
            it = await fake.slash("alice", "reindex")
            await fake.wait_for(lambda: it.original and it.original.content.startswith("Готово"), timeout=20,
                                what="the reindex result")
            history = [h for h in it.original.history if h]
            assert history[0].startswith("Переиндексация началась") and len(history) >= 2
            assert "extra.md" in history[-1]
            assert it.original.ephemeral and it.followups == []  # one message, edited
            # A member with the admin role may ask for the status.
            status = await fake.slash("carol", "status")
            await fake.wait_for(lambda: status.original and status.original.content, what="the status")
            assert status.original.content.startswith("Индекс:")
    run(scenario())


def test_admin_adds_a_document_as_an_attachment(core, settings, embedder):
    build_in_process(core, settings, embedder)
    doc = "# Токенизация\n\nТокенизатор делит текст на токены.\n".encode()

    async def scenario():
        async with running_bot(core, settings) as fake:
            await fake.user_message("bob", "", dm=True, files={"bob.md": doc})
            refused = await fake.wait_for(
                lambda: [m for m in fake.bot_messages(fake.dm_channels["bob"]) if "администратор" in m.content],
                what="the refusal")
            assert refused
            it = await fake.slash("alice", "add", attachment=("tokens.md", doc))
            await fake.wait_for(lambda: it.original and "tokens.md" in it.original.content, timeout=20,
                                what="the add result")
            assert "добавлен" in it.original.content
    run(scenario())
    assert (settings.corpus_dir / "tokens.md").read_bytes() == doc
    assert not (settings.corpus_dir / "bob.md").exists()


def test_without_a_guild_commands_sync_globally_and_work_in_dms(core, settings):
    async def scenario():
        async with running_bot(core, settings, guild=False) as fake:
            assert "global" in fake.commands and str(fake.guild_id) not in fake.commands
            it = await fake.slash("bob", "ask", {"question": LORA}, dm=True)
            await fake.wait_for(lambda: it.original and it.original.embeds, what="the answer in the DM")
            assert it.original.guild_id is None
    run(scenario())


def test_stop_lets_an_answer_in_flight_finish_and_turns_new_ones_away(core, settings, llm):
    llm.delay_s = 1.0

    async def scenario():
        stop = asyncio.Event()

        async def ask_while_stopping(fake):
            await asyncio.wait_for(stop.wait(), 10)
            await asyncio.sleep(0.1)
            return await fake.slash("carol", "ask", {"question": LORA})

        async with running_bot(core, settings, stop=stop) as fake:
            it = await fake.slash("bob", "ask", {"question": LORA})
            await fake.wait_for(lambda: it.acked_type, what="the deferral")
            late_ask = asyncio.create_task(ask_while_stopping(fake))
        # serve() has returned: the answer being generated was delivered first…
        assert it.original.embeds and "LoRA" in it.original.content
        # …and a question asked while stopping got a notice instead of being started.
        late = await late_ask
        assert late.original.ephemeral and late.original.content.startswith("Бот перезапускается")
    run(scenario())


def test_a_rejected_token_stops_serve_with_an_error_that_does_not_show_it(core, settings, caplog):
    async def scenario():
        fake = FakeDiscord()
        root = await fake.start()
        settings.secrets = Secrets(discord_token="wrong-token-123", discord_api_base_url=root)
        saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        try:
            await asyncio.wait_for(serve(core, settings, asyncio.Event()), 10)
        except discord.LoginFailure as exc:
            return str(exc)
        finally:
            await fake.close()
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
        raise AssertionError("serve() should have failed")

    with caplog.at_level(logging.DEBUG):
        message = run(scenario())
    assert "token" in message.lower() and "wrong-token-123" not in message
    assert "wrong-token-123" not in caplog.text
