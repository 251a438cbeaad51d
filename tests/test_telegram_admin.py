"""Admin commands over Telegram: permission checks, reindex progress in one message while other
users keep getting answers, /status, and adding a document sent as a file."""
from __future__ import annotations

import asyncio

from bot.core.admin import InProcessBuilder
from tests.test_telegram import ADMIN, USER, final_reply, run, telegram

NEW_DOC = ("# Векторные базы\n\nВекторная база хранит эмбеддинги фрагментов "
           "и быстро находит ближайшие к вопросу векторы.\n").encode()


def slow_build(settings, embedder, pause_s: float):
    """The real in-process build, started after a pause so that a question can arrive meanwhile."""
    real = InProcessBuilder(settings, embedder)

    async def build(on_event):
        on_event({"stage": "parse", "done": 0, "total": 0, "eta_s": None})
        await asyncio.sleep(pause_s)
        return await real(on_event)
    return build


def test_non_admin_reindex_is_refused(core, settings):
    async def scenario():
        async with telegram(core, settings, admins=[ADMIN]) as fake:
            fake.send_text("/reindex", chat_id=USER)
            [reply] = await final_reply(fake, USER)
            assert "только администраторам" in reply.text
            await asyncio.sleep(0.5)
            assert len(fake.chat(USER)) == 1 and not fake.requests("editmessagetext", USER)
    run(scenario())


def test_admin_reindex_reports_progress_while_questions_are_answered(core, settings, embedder):
    (settings.corpus_dir / "extra.md").write_bytes(NEW_DOC)
    core.admin.builder = slow_build(settings, embedder, pause_s=2.0)

    async def scenario():
        async with telegram(core, settings, admins=[ADMIN]) as fake:
            fake.send_text("/reindex", chat_id=ADMIN)
            await fake.wait_for(lambda: fake.chat(ADMIN), what="the progress message")
            fake.send_text("Что такое LoRA?", chat_id=USER)
            [answer] = await final_reply(fake, USER)
            assert "<blockquote" in answer.raw
            assert not fake.html_replies(ADMIN), "the question waited for the reindex"
            [done] = await final_reply(fake, ADMIN, timeout=20)
            assert len(fake.chat(ADMIN)) == 1  # progress and result in one message
            shown = [c.params["text"] for c in fake.requests(chat_id=ADMIN)
                     if c.method in ("sendmessage", "editmessagetext")]
            assert len(shown) >= 2 and any("Переиндексация" in t for t in shown[:-1]), shown
            assert "Готово" in done.text and "extra.md" in done.text
            assert not fake.rejected(), [c.error for c in fake.rejected()]
    run(scenario(), timeout=40)


def test_admin_status_and_help_show_admin_commands(core, settings):
    async def scenario():
        async with telegram(core, settings, admins=[ADMIN]) as fake:
            fake.send_text("/status", chat_id=ADMIN)
            [status] = await final_reply(fake, ADMIN)
            assert "Индекс:" in status.text and "фрагментов" in status.text
            fake.send_text("/help", chat_id=ADMIN)
            assert "/reindex" in (await final_reply(fake, ADMIN, 2))[1].text
            assert any(c.params.get("scope", {}).get("chat_id") == ADMIN for c in fake.requests("setmycommands"))
    run(scenario())


def test_admin_adds_a_document_and_it_is_answered_from(core, settings, embedder):
    core.admin.builder = InProcessBuilder(settings, embedder)

    async def scenario():
        async with telegram(core, settings, admins=[ADMIN]) as fake:
            fake.send_document("vectors.md", NEW_DOC, chat_id=USER)  # not an admin: a hint, no download
            [hint] = await fake.wait_for(lambda: fake.chat(USER), what="the hint")
            assert "только администраторы" in hint.text and not fake.requests("getfile")

            fake.send_document("vectors.md", NEW_DOC, chat_id=ADMIN)
            [done] = await final_reply(fake, ADMIN, timeout=20)
            assert "«vectors.md» добавлен" in done.text, done.text
            assert fake.requests("getfile") and fake.requests("download")
            assert (settings.corpus_dir / "vectors.md").read_bytes() == NEW_DOC

            fake.send_text("Что хранит векторная база?", chat_id=USER)
            [answer] = await final_reply(fake, USER)
            assert "vectors.md" in answer.text and "<blockquote" in answer.raw

            fake.send_document("picture.png", b"\x89PNG", chat_id=ADMIN)
            assert "только файл .txt или .md" in (await fake.wait_for(
                lambda: len(fake.chat(ADMIN)) == 2 and fake.chat(ADMIN), what="the type hint"))[1].text
    run(scenario(), timeout=40)
