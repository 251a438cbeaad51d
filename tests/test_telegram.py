"""The Telegram front end driven like a user: the real python-telegram-bot client polls a fake
Bot API server over HTTP (tests/fakes/telegram_server.py), with the real core on the fixture corpus."""
from __future__ import annotations

import asyncio
import json
import logging
from contextlib import asynccontextmanager

from bot.config import Secrets
from bot.core.service import RateLimiter
from bot.frontends.telegram import serve
from tests.fakes.telegram_server import FakeTelegram, utf16_len

USER, OTHER, ADMIN, GROUP = 100, 200, 42, -1001
INTERVAL = 0.2
LORA_SENTENCE = ("LoRA - это способ дообучения большой модели, при котором обучаются только маленькие матрицы "
                 "низкого ранга, а исходные веса модели остаются замороженными.")


def run(scenario, timeout: float = 30):
    asyncio.run(asyncio.wait_for(scenario, timeout))


@asynccontextmanager
async def telegram(core, settings, admins=()):
    """The bot polling a fresh fake server for the duration of a scenario."""
    async with FakeTelegram() as fake:
        settings.secrets = Secrets(telegram_token=fake.token, telegram_api_base_url=fake.root)
        settings.telegram.admin_ids = list(admins)
        settings.telegram.edit_interval_s = INTERVAL
        stop = asyncio.Event()
        task = asyncio.create_task(serve(core, settings, stop, poll_timeout_s=1))
        await fake.wait_for(lambda: fake.requests("getupdates") or task.done() or fake.requests("deletewebhook"),
                            what="polling to start")
        if task.done():
            task.result()
        try:
            yield fake
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)


async def final_reply(fake: FakeTelegram, chat_id: int, count: int = 1, timeout: float = 10):
    """The bot's final (HTML) replies in a chat, once there are `count` of them."""
    return await fake.wait_for(lambda: len(fake.html_replies(chat_id)) >= count and fake.html_replies(chat_id),
                               timeout, what=f"{count} HTML replies in chat {chat_id}")


def buttons(message) -> list[dict]:
    return [b for row in (message.markup or {}).get("inline_keyboard", []) for b in row]


def test_start_help_and_command_menu(core, settings):
    async def scenario():
        async with telegram(core, settings) as fake:
            fake.send_text("/start", chat_id=USER)
            fake.send_text("/help", chat_id=OTHER, language_code="en")
            ru = (await final_reply(fake, USER))[0].text
            en = (await final_reply(fake, OTHER))[0].text
            assert "Отвечаю только по тексту" in ru and "/ask" in ru and "@corpus_test_bot" in ru
            assert "I answer only from the text" in en and "/new" in en
            assert "/reindex" not in ru  # not an admin
            menus = fake.requests("setmycommands")
            assert menus and all(c.ok for c in menus)
            names = {c["command"] for c in menus[0].params["commands"]}
            assert {"start", "help", "ask", "new"} <= names
    run(scenario())


def test_russian_question_streams_into_one_message_then_quotes(core, settings, llm):
    llm.delay_s = 1.5  # a slow model: the draft is shown and edited while it writes

    async def scenario():
        async with telegram(core, settings) as fake:
            fake.send_text("Что такое LoRA?", chat_id=USER)
            [reply] = await final_reply(fake, USER)
            assert len(fake.chat(USER)) == 1, "draft and answer must be one message"
            assert fake.requests("sendchataction", USER)[0].params["action"] == "typing"
            edits = fake.requests("editmessagetext", USER)
            assert reply.edits >= 2 and len(edits) == reply.edits  # draft edits, then the final one
            gaps = [b.at - a.at for a, b in zip(edits, edits[1:])]
            assert all(g >= INTERVAL * 0.9 for g in gaps), gaps  # throttled
            assert not fake.rejected(), [c.error for c in fake.rejected()]  # no "not modified" either
            assert "<blockquote" in reply.raw and "LoRA" in reply.text
            assert "Источники" in reply.text and "строки" in reply.text and "2023-12-22" in reply.text
            button, up, down = buttons(reply)
            assert button["text"] == "📄 Фрагмент 1" and len(button["callback_data"].encode()) <= 64
            assert (up["text"], down["text"]) == ("👍", "👎")

            fake.press(reply, button["callback_data"], user_id=USER)
            passage = (await fake.wait_for(lambda: len(fake.chat(USER)) == 2 and fake.chat(USER)[1],
                                           what="the full passage"))
            assert "Метод LoRA и дообучение." in passage.text and "держать много адаптеров" in passage.text
            assert passage.parse_mode == "HTML" and "<blockquote" in passage.raw
            assert fake.requests("answercallbackquery")
    run(scenario())


def test_english_user_gets_english_labels(core, settings, llm):
    # An English answer the scripted model can ground in the Russian fixture: its figures and name.
    llm.outputs.append('{"answer": "LoRA: 7, 20.", "citations": [1]}')
    async def scenario():
        async with telegram(core, settings) as fake:
            fake.send_text("What is LoRA?", chat_id=USER, language_code="en")
            [reply] = await final_reply(fake, USER)
            assert "<blockquote" in reply.raw, reply.text
            assert "Sources:" in reply.text and "lines" in reply.text
            assert buttons(reply)[0]["text"] == "📄 Passage 1"
    run(scenario())


def test_off_topic_question_is_refused_briefly(core, settings):
    async def scenario():
        async with telegram(core, settings) as fake:
            fake.send_text("Как приготовить борщ?", chat_id=USER)
            [reply] = await final_reply(fake, USER)
            assert "нет ответа" in reply.text
            assert "<blockquote" not in reply.raw
            assert [b["text"] for b in buttons(reply)] == ["👍", "👎"]  # no passage to open
            assert len(reply.text) < 300
    run(scenario())


def test_group_answers_only_when_addressed(core, settings):
    async def scenario():
        async with telegram(core, settings) as fake:
            fake.send_text("Что такое LoRA?", chat_id=GROUP, user_id=USER, chat_type="supergroup")
            await asyncio.sleep(1.0)
            assert not fake.requests("sendmessage", GROUP) and not fake.requests("sendchataction", GROUP)

            mention = fake.send_text("@corpus_test_bot что такое LoRA?", chat_id=GROUP, user_id=USER)
            [first] = await final_reply(fake, GROUP)
            sent = fake.requests("sendmessage", GROUP)[0].params
            assert sent["reply_parameters"]["message_id"] == mention["message"]["message_id"]
            assert "<blockquote" in first.raw

            fake.send_text("/ask@corpus_test_bot Что такое галлюцинации?", chat_id=GROUP, user_id=OTHER)
            second = (await final_reply(fake, GROUP, 2))[1]
            assert "Галлюцинации" in second.text

            fake.send_text("Что такое квантование?", chat_id=GROUP, user_id=OTHER, reply_to=second.message_id)
            third = (await final_reply(fake, GROUP, 3))[2]
            assert "Квантование" in third.text
    run(scenario())


def test_long_answer_is_split_and_every_part_accepted(core, settings, llm):
    long_answer = " ".join([LORA_SENTENCE] * 40)  # verbatim corpus text, so it survives verification
    llm.outputs = [json.dumps({"answer": long_answer, "citations": [1, 2, 3]}, ensure_ascii=False)]

    async def scenario():
        async with telegram(core, settings) as fake:
            fake.send_text("Что такое LoRA?", chat_id=USER)
            replies = await fake.wait_for(
                lambda: len(fake.html_replies(USER)) >= 2 and "<blockquote" in fake.html_replies(USER)[-1].raw
                and fake.html_replies(USER), what="a split reply")
            await asyncio.sleep(0.3)  # nothing more should follow
            assert not fake.rejected(), [c.error for c in fake.rejected()]
            replies = fake.html_replies(USER)
            assert len(replies) >= 2
            assert all(utf16_len(r.text) <= 4096 for r in replies)
            assert sum(r.text.count("остаются замороженными") for r in replies) >= 41  # 40 + the quote
            assert buttons(replies[-1]) and not any(buttons(r) for r in replies[:-1])
    run(scenario())


def test_feedback_buttons_record_the_vote(core, settings):
    async def scenario():
        async with telegram(core, settings) as fake:
            fake.send_text("Что такое LoRA?", chat_id=USER)
            [reply] = await final_reply(fake, USER)
            up = next(b for b in buttons(reply) if b["text"] == "👍")
            fake.press(reply, up["callback_data"], user_id=USER)
            [ack] = await fake.wait_for(lambda: fake.requests("answercallbackquery"), what="the button answer")
            assert ack.params["text"] == "Спасибо за отзыв!"
            fake.press(reply, "f:999999:1", user_id=USER)  # an answer the store does not know
            acks = await fake.wait_for(lambda: len(fake.requests("answercallbackquery")) == 2
                                       and fake.requests("answercallbackquery"), what="the second answer")
            assert acks[1].params["text"] == "Не удалось записать отзыв."
    run(scenario())
    rows = list(core.store.db.query("select value from feedback"))
    assert [r["value"] for r in rows] == [1]


def test_markup_characters_from_the_corpus_are_escaped(core, settings):
    async def scenario():
        async with telegram(core, settings) as fake:
            fake.send_text("Какие символы не должны ломать разметку?", chat_id=USER)
            [reply] = await final_reply(fake, USER)
            assert not fake.rejected()
            assert "<, > и &" in reply.text and "&lt;, &gt; и &amp;" in reply.raw
            assert "**звёздочки**" in reply.text
    run(scenario())


def test_flood_control_is_honoured_and_the_answer_delivered(core, settings):
    async def scenario():
        async with telegram(core, settings) as fake:
            fake.flood("sendMessage", USER, retry_after=1)
            fake.send_text("Что такое LoRA?", chat_id=USER)
            [reply] = await final_reply(fake, USER)
            assert "<blockquote" in reply.raw
            calls = fake.requests(chat_id=USER)
            [limited] = [c for c in calls if c.status == 429]
            later = [c for c in calls if c.at > limited.at and c.method in ("sendmessage", "editmessagetext")]
            assert later and all(c.at - limited.at >= 0.95 for c in later)  # waited retry_after
            assert all(c.ok for c in later)
    run(scenario())


def test_rate_limit_and_too_long_question_get_clear_messages(core, settings):
    core.service.limiter = RateLimiter(per_user=1, global_=60)

    async def scenario():
        async with telegram(core, settings) as fake:
            fake.send_text("Почему " * 200, chat_id=OTHER)
            assert "не больше 1000 символов" in (await final_reply(fake, OTHER))[0].text
            fake.send_text("Что такое LoRA?", chat_id=USER)
            await final_reply(fake, USER)
            fake.send_text("А что такое галлюцинации?", chat_id=USER)
            second = (await final_reply(fake, USER, 2))[1]
            assert "Подождите" in second.text and not buttons(second)
    run(scenario())


def test_non_text_message_gets_a_hint(core, settings):
    async def scenario():
        async with telegram(core, settings) as fake:
            fake.send_sticker(chat_id=USER)
            [hint] = await fake.wait_for(lambda: fake.chat(USER), what="a hint")
            assert "текстовые вопросы" in hint.text and "\n" not in hint.text
    run(scenario())


def test_blocked_user_does_not_break_the_bot(core, settings, caplog):
    caplog.set_level(logging.INFO)

    async def scenario():
        async with telegram(core, settings) as fake:
            fake.blocked.add(OTHER)
            fake.send_text("Что такое LoRA?", chat_id=OTHER)
            await fake.wait_for(lambda: any(c.status == 403 for c in fake.requests(chat_id=OTHER)), what="a 403")
            fake.send_text("Что такое LoRA?", chat_id=USER)
            [reply] = await final_reply(fake, USER)
            assert "<blockquote" in reply.raw
            assert not fake.chat(OTHER)
            return fake.token
    token = asyncio.run(asyncio.wait_for(scenario(), 30))
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("bot.", "telegram.")))
    assert "blocked" in ours and token.split(":")[1] not in ours


def test_handler_error_shows_no_trace(core, settings, caplog):
    def broken(asker):
        raise RuntimeError("internal detail")

    core.service.new_chat = broken

    async def scenario():
        async with telegram(core, settings) as fake:
            fake.send_text("/new", chat_id=USER)
            [msg] = await fake.wait_for(lambda: fake.chat(USER), what="an error message")
            assert "Ошибка записана в журнал" in msg.text
            assert "Traceback" not in msg.text and "internal detail" not in msg.text
            return fake.token
    token = asyncio.run(asyncio.wait_for(scenario(), 30))
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("bot.", "telegram.")))
    assert "handling a Telegram update failed" in ours and token.split(":")[1] not in ours
    assert "internal detail" in caplog.text  # the trace goes to the log, not the chat


def test_stop_finishes_the_answer_in_flight(core, settings, llm):
    llm.delay_s = 1.0

    async def scenario():
        async with FakeTelegram() as fake:
            settings.secrets = Secrets(telegram_token=fake.token, telegram_api_base_url=fake.root)
            stop = asyncio.Event()
            task = asyncio.create_task(serve(core, settings, stop, poll_timeout_s=1))
            fake.send_text("Что такое LoRA?", chat_id=USER)
            await fake.wait_for(lambda: fake.requests("sendchataction", USER), what="work to start")
            stop.set()
            await asyncio.wait_for(task, 15)
            [reply] = fake.html_replies(USER)
            assert "<blockquote" in reply.raw
    run(scenario())
