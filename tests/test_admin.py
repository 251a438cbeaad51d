"""Admin operations: permissions and audit, reindex (concurrency, progress, failures, kills),
status, rollback, adding and removing documents including every kind of bad upload."""
import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.app import Core
from bot.core.admin import AdminService, BuildFailed, InProcessBuilder, SubprocessBuilder
from bot.core.index import IndexDir, build_index, load_index
from bot.core.service import Asker
from conftest import HashEmbedder

ROOT = Path(__file__).resolve().parents[1]
CONSOLE = Asker("console", "local", "me")
TG_ADMIN = Asker("telegram", "100", "42", "ru")
TG_USER = Asker("telegram", "100", "77", "ru")
TG_USER_EN = Asker("telegram", "100", "78", "en")
NEW_DOC = ("# Трансформеры\n\nТрансформер обрабатывает текст с помощью механизма внимания.\n"
           "Механизм внимания взвешивает связи между всеми токенами фрагмента.\n").encode()


def big_doc(n):
    """A document of `n` passages (one per paragraph with the fixture's chunking)."""
    return ("# Большой документ\n\n" + "\n\n".join(
        f"Абзац {i}: " + " ".join(f"слово{i}x{j}" for j in range(25)) + "." for i in range(n))).encode()


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class SlowEmbedder(HashEmbedder):
    """The test embedder, `delay_s` per batch; `fail_after` batches then an error."""

    def __init__(self, delay_s=0.0, fail_after=None):
        super().__init__()
        self.delay_s, self.fail_after, self.batches = delay_s, fail_after, 0

    def embed_passages(self, texts):
        self.batches += 1
        if self.fail_after is not None and self.batches > self.fail_after:
            raise RuntimeError("embedding backend crashed")
        time.sleep(self.delay_s)
        return super().embed_passages(texts)


class GatedBuilder:
    """Waits until released, then builds for real: lets a test act while a build 'runs'."""

    def __init__(self, inner):
        self.inner, self.entered, self.release = inner, threading.Event(), threading.Event()

    async def __call__(self, on_event):
        self.entered.set()
        while not self.release.is_set():
            await asyncio.sleep(0.02)
        return await self.inner(on_event)


async def until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


@pytest.fixture
def admin_settings(settings):
    settings.telegram.admin_ids = [42]
    settings.discord.admin_ids = [7]
    settings.discord.admin_role = "bot-admins"
    return settings


@pytest.fixture
def acore(admin_settings, built_index, embedder, llm):
    """The real core (with its store) and an admin service that builds in a thread."""
    core = Core(admin_settings, llm=llm, embedder=embedder, builder=InProcessBuilder(admin_settings, embedder))
    yield core
    core.close()


def corpus_names(settings):
    return sorted(p.name for p in settings.corpus_dir.iterdir())


def current(settings):
    return IndexDir(settings.index_dir).current()


def audit(core):
    return core.store.audit_rows()


# --- permissions ---------------------------------------------------------------------------

OPS = {
    "reindex": lambda a, who: a.reindex(who),
    "status": lambda a, who: a.status(who),
    "add": lambda a, who: a.add_document(who, "x.md", NEW_DOC),
    "remove": lambda a, who: a.remove_document(who, "notes.md"),
    "rollback": lambda a, who: a.rollback(who),
}


@pytest.mark.parametrize("op", OPS)
def test_non_admins_are_refused_politely_and_audited(acore, admin_settings, op):
    before, version = corpus_names(admin_settings), acore.index.version
    reply = run(OPS[op](acore.admin, TG_USER))
    assert not reply.ok
    assert reply.text == "Эта команда доступна только администраторам бота. Попытка записана в журнал."
    reply_en = run(OPS[op](acore.admin, TG_USER_EN))
    assert reply_en.text == "This command is for the bot's administrators only. The attempt has been logged."
    rows = audit(acore)
    assert [(r["action"], r["allowed"], r["platform"]) for r in rows] == [(op, 0, "telegram")] * 2
    assert corpus_names(admin_settings) == before and acore.index.version == version == current(admin_settings)


def test_who_is_an_admin(acore):
    admin = acore.admin
    assert admin.is_admin(CONSOLE) and admin.is_admin(Asker("cli", "-", "anyone"))
    assert admin.is_admin(TG_ADMIN) and not admin.is_admin(TG_USER)
    assert admin.is_admin(Asker("discord", "5", "7"))
    assert admin.is_admin(Asker("discord", "5", "9", roles=("members", "bot-admins")))
    assert not admin.is_admin(Asker("discord", "5", "9", roles=("members",)))
    assert not admin.is_admin(Asker("discord", "5", "42"))  # a Telegram admin id means nothing on Discord
    assert not admin.is_admin(Asker("telegram", "5", "not-a-number"))
    assert not admin.is_admin(Asker("web", "5", "42"))


def test_admins_are_allowed_and_audited(acore):
    reply = run(acore.admin.status(TG_ADMIN))
    assert reply.ok and acore.index.version in reply.text
    assert [(r["action"], r["allowed"]) for r in audit(acore)] == [("status", 1)]


# --- status --------------------------------------------------------------------------------

def test_status_reports_index_model_queue_and_today(acore, admin_settings):
    run(acore.service.ask("Что автор думает о LoRA?", TG_USER))
    run(acore.service.ask("Как приготовить борщ?", TG_USER))
    acore.service.counters.last_error = "2025-01-01 10:00:00 RuntimeError: boom"
    text = run(acore.admin.status(Asker("console", "local", "me", "en"))).text
    assert re.search(rf"Index: {acore.index.version}, built \d s ago; documents: 2, passages: 7", text), text
    assert "Model: scripted-test-llm (llama_cpp); embeddings: test-hash-embedder" in text
    assert "queued: 0" in text and "Today: 1 answers, 1 refusals" in text
    assert "Last error: 2025-01-01 10:00:00 RuntimeError: boom" in text
    (admin_settings.corpus_dir / "notes.md").write_text("# Новое\n\nДругой текст.\n", encoding="utf-8")
    ru = run(acore.admin.status(CONSOLE)).text
    assert "Сегодня: ответов 1, отказов 1" in ru
    assert "документы изменились после сборки индекса (notes.md)" in ru


# --- reindex -------------------------------------------------------------------------------

def test_reindex_builds_switches_and_reports_changes(acore, admin_settings):
    old = acore.index.version
    (admin_settings.corpus_dir / "transformers.md").write_bytes(NEW_DOC)
    lines = []
    reply = run(acore.admin.reindex(CONSOLE, on_progress=lines.append))
    assert reply.ok, reply.text
    new = acore.index.version
    assert new != old and current(admin_settings) == new
    assert reply.text.startswith(f"Готово: бот отвечает по индексу {new}.")
    # embedded: the new passage, its section title and its two sentences
    assert "Фрагментов: 8 (+1 / −0), новых эмбеддингов: 4" in reply.text and "Новые документы: transformers.md" in reply.text
    assert lines[0] == f"Переиндексация началась. Пока она идёт, бот отвечает по индексу {old}."
    answer = run(acore.service.ask("Что делает механизм внимания в трансформере?", TG_USER))
    assert not answer.refused and answer.citations[0].source == "transformers.md"
    again = run(acore.admin.reindex(CONSOLE))
    assert again.ok and again.text == f"Индекс {new} уже соответствует документам, ничего не изменилось."


def test_progress_lines_are_throttled_and_async_callbacks_land_before_the_reply(acore, admin_settings):
    acore.admin.builder = InProcessBuilder(admin_settings, SlowEmbedder(delay_s=0.25))
    acore.admin.progress_interval_s = 0.5
    (admin_settings.corpus_dir / "big.md").write_bytes(big_doc(48))  # 6 batches of 8, 0.25 s each
    shown = []

    async def edit(line):  # like a front end's message edit: a coroutine
        await asyncio.sleep(0.05)
        shown.append((time.monotonic(), line))

    async def go():
        reply = await acore.admin.reindex(Asker("console", "l", "me", "en"), on_progress=edit)
        return reply, len(shown)

    reply, shown_at_reply = run(go())
    assert reply.ok, reply.text
    assert shown_at_reply == len(shown)  # no edit can land after (and overwrite) the final reply
    texts = [line for _, line in shown]
    assert texts[0].startswith("Reindexing started.")
    assert any(x.startswith("Reindexing: embedding passages,") and " of " in x for x in texts), texts
    gaps = [b - a for (a, _), (b, _) in zip(shown, shown[1:])]
    assert all(g >= 0.4 for g in gaps), gaps


def test_a_second_reindex_while_one_runs_is_refused(acore, admin_settings):
    gate = GatedBuilder(InProcessBuilder(admin_settings, acore.embedder))
    acore.admin.builder = gate
    (admin_settings.corpus_dir / "transformers.md").write_bytes(NEW_DOC)

    async def go():
        first = asyncio.ensure_future(acore.admin.reindex(CONSOLE))
        await until(gate.entered.is_set)
        second = await acore.admin.reindex(TG_ADMIN)
        add = await acore.admin.add_document(Asker("discord", "1", "7", "en"), "other.md", NEW_DOC)
        rollback = await acore.admin.rollback(CONSOLE)
        status = await acore.admin.status(CONSOLE)
        gate.release.set()
        return await first, second, add, rollback, status

    first, second, add, rollback, status = run(go())
    assert first.ok
    assert not second.ok and second.text == ("Уже идёт другая операция (переиндексация). "
                                             "Дождитесь её окончания и повторите.")
    assert not add.ok and add.text.startswith("Another admin operation is running (reindexing).")
    assert not rollback.ok and "переиндексация" in rollback.text
    assert "Сейчас идёт: переиндексация." in status.text
    assert not (admin_settings.corpus_dir / "other.md").exists()
    assert run(acore.admin.reindex(CONSOLE)).ok  # the lock is free again


def test_answers_are_served_from_the_old_index_during_a_reindex(acore, admin_settings):
    slow = SlowEmbedder(delay_s=0.3)
    acore.admin.builder = InProcessBuilder(admin_settings, slow)
    old = acore.index.version
    (admin_settings.corpus_dir / "big.md").write_bytes(big_doc(24))  # 3 batches, 0.3 s each
    events = []

    async def go():
        task = asyncio.ensure_future(acore.admin.reindex(CONSOLE, on_progress=events.append))
        await until(lambda: slow.batches >= 1)  # the build is embedding in its thread
        t0 = time.monotonic()
        answer = await acore.service.ask("Что автор думает о LoRA?", TG_USER)
        served_in = time.monotonic() - t0
        still_building = not task.done()
        return answer, served_in, still_building, await task

    answer, served_in, still_building, reply = run(go())
    assert still_building and served_in < 2
    assert not answer.refused and answer.citations[0].source == "sample.txt"
    assert reply.ok and acore.index.version != old


def test_a_failed_build_keeps_the_old_index_live_and_is_reported(acore, admin_settings):
    old = acore.index.version

    async def broken(on_event):
        on_event({"stage": "parse", "done": 0, "total": 0, "eta_s": None})
        raise BuildFailed("error: corpus/notes.md: not UTF-8 (invalid byte at line 3); save it as UTF-8")

    acore.admin.builder = broken
    reply = run(acore.admin.reindex(Asker("telegram", "1", "42", "en")))
    assert not reply.ok
    assert reply.text == (f"Reindexing failed; questions are still answered from index {old}. "
                          "Error: error: corpus/notes.md: not UTF-8 (invalid byte at line 3); save it as UTF-8")
    assert acore.index.version == old == current(admin_settings)
    assert "not UTF-8" in acore.service.counters.last_error
    assert not run(acore.service.ask("Что автор думает о LoRA?", TG_USER)).refused
    assert audit(acore)[0]["detail"].startswith("failed: Reindexing failed")


def test_a_build_crashing_mid_embedding_leaves_current_and_the_old_index_usable(acore, admin_settings):
    old = acore.index.version
    (admin_settings.corpus_dir / "transformers.md").write_bytes(NEW_DOC)
    (admin_settings.corpus_dir / "big.md").write_bytes(big_doc(20))
    acore.admin.builder = InProcessBuilder(admin_settings, SlowEmbedder(fail_after=1))
    reply = run(acore.admin.reindex(CONSOLE))
    assert not reply.ok and "RuntimeError: embedding backend crashed" in reply.text
    assert current(admin_settings) == old == acore.index.version
    assert len(load_index(admin_settings.index_dir).passages) == 7
    assert not list((admin_settings.index_dir / "versions").glob(".building-*"))
    acore.admin.builder = InProcessBuilder(admin_settings, acore.embedder)  # the next build works
    assert run(acore.admin.reindex(CONSOLE)).ok and acore.index.version != old


def test_a_cancelled_build_stops_and_leaves_the_old_index(acore, admin_settings):
    old = acore.index.version
    slow = SlowEmbedder(delay_s=0.2)
    acore.admin.builder = InProcessBuilder(admin_settings, slow)
    (admin_settings.corpus_dir / "big.md").write_bytes(big_doc(80))  # 10 batches, 0.2 s each

    async def go():
        task = asyncio.ensure_future(acore.admin.reindex(CONSOLE))
        await until(lambda: slow.batches >= 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return slow.batches

    batches = run(go())
    assert batches < 5  # stopped at the next progress report, not after embedding everything
    assert current(admin_settings) == old == acore.index.version
    assert len(load_index(admin_settings.index_dir).passages) == 7
    acore.admin.builder = InProcessBuilder(admin_settings, acore.embedder)
    assert run(acore.admin.reindex(CONSOLE)).ok  # not left locked


def test_a_new_version_that_fails_to_load_is_switched_back(acore, admin_settings):
    old = acore.index.version
    (admin_settings.corpus_dir / "transformers.md").write_bytes(NEW_DOC)
    inner = InProcessBuilder(admin_settings, acore.embedder)

    async def corrupting(on_event):
        report = await inner(on_event)
        (admin_settings.index_dir / "versions" / report["version"] / "vectors.faiss").write_bytes(b"garbage")
        return report

    acore.admin.builder = corrupting
    reply = run(acore.admin.reindex(Asker("console", "l", "me", "en")))
    assert not reply.ok and f"index {old} stays live" in reply.text
    assert current(admin_settings) == old == acore.index.version


# --- rollback ------------------------------------------------------------------------------

def test_rollback_returns_to_the_previous_version(acore, admin_settings):
    v1 = acore.index.version
    assert run(acore.admin.add_document(CONSOLE, "transformers.md", NEW_DOC)).ok
    v2 = acore.index.version
    reply = run(acore.admin.rollback(CONSOLE))
    assert reply.ok and reply.text.startswith(f"Откат выполнен: бот отвечает по индексу {v1} (был {v2}).")
    assert "документы изменились после сборки индекса (transformers.md)" in reply.text
    assert acore.index.version == v1 == current(admin_settings)
    answer = run(acore.service.ask("Что делает механизм внимания в трансформере?", TG_USER))
    assert all(c.source != "transformers.md" for c in answer.citations)
    again = run(acore.admin.rollback(CONSOLE))
    assert not again.ok and again.text == f"Более ранней версии индекса нет; бот отвечает по индексу {v1}."


# --- documents -----------------------------------------------------------------------------

def test_add_document_stores_it_and_reindexes(acore, admin_settings):
    reply = run(acore.admin.add_document(TG_ADMIN, "Трансформеры (заметки).md", NEW_DOC))
    assert reply.ok, reply.text
    assert reply.text.startswith("Документ «Трансформеры (заметки).md» добавлен.\nГотово")
    assert (admin_settings.corpus_dir / "Трансформеры (заметки).md").read_bytes() == NEW_DOC
    assert "Трансформеры (заметки).md" in acore.index.manifest["sources"]
    assert not [p for p in admin_settings.corpus_dir.iterdir() if p.name.startswith(".")]
    answer = run(acore.service.ask("Что делает механизм внимания в трансформере?", TG_USER))
    assert answer.citations and answer.citations[0].source == "Трансформеры (заметки).md"
    dup = run(acore.admin.add_document(TG_ADMIN, "трансформеры (ЗАМЕТКИ).md", b"other text"))
    assert not dup.ok and "уже есть" in dup.text and "remove" in dup.text
    assert (admin_settings.corpus_dir / "Трансформеры (заметки).md").read_bytes() == NEW_DOC


LIMIT = 5_000_000
BAD_UPLOADS = {
    "path traversal": ("../../etc/passwd", b"root:x:0:0", "Недопустимое имя файла «../../etc/passwd»"),
    "absolute path": ("/etc/notes.md", NEW_DOC, "Недопустимое имя файла"),
    "folder": ("docs/notes2.md", NEW_DOC, "Недопустимое имя файла"),
    "windows path": ("..\\..\\notes2.md", NEW_DOC, "Недопустимое имя файла"),
    "hidden file": (".hidden.md", NEW_DOC, "Недопустимое имя файла"),
    "dot dot inside": ("a..md", NEW_DOC, "Недопустимое имя файла"),
    "odd characters": ("notes;rm -rf.md", NEW_DOC, "Недопустимое имя файла"),
    "nul in name": ("notes\x00.md", NEW_DOC, "Недопустимое имя файла"),
    "too long name": ("a" * 120 + ".md", NEW_DOC, "Недопустимое имя файла"),
    "exe": ("tool.exe", b"MZ\x90\x00\x03", "Принимаются только файлы .txt и .md."),
    "no suffix": ("README", NEW_DOC, "Принимаются только файлы .txt и .md."),
    "pdf": ("paper.pdf", b"%PDF-1.7", "Принимаются только файлы .txt и .md."),
    "empty": ("empty.md", b"", "В файле нет текста."),
    "whitespace only": ("blank.txt", b" \n\t\n", "В файле нет текста."),
    "only punctuation": ("dots.txt", "…!!! ---\n".encode(), "В файле нет текста."),
    "non-UTF-8": ("cp1251.txt", "Привет\nмир, это текст".encode("cp1251"),
                  "Файл не в кодировке UTF-8 (ошибка в строке 1)"),
    "NUL bytes": ("binary.txt", b"text\x00\x01\x02binary", "Это двоичный файл"),
    "control garbage": ("noise.md", bytes(range(1, 9)) * 20 + b"abc", "Это двоичный файл"),
    "huge": ("huge.txt", b"a" * (LIMIT + 1), f"Файл слишком большой: {LIMIT + 1} байт, можно не больше {LIMIT}."),
}


@pytest.mark.parametrize("case", BAD_UPLOADS)
def test_bad_uploads_are_refused_and_change_nothing(acore, admin_settings, case):
    name, data, message = BAD_UPLOADS[case]
    before, version = corpus_names(admin_settings), acore.index.version
    reply = run(acore.admin.add_document(CONSOLE, name, data))
    assert not reply.ok and message in reply.text, reply.text
    assert corpus_names(admin_settings) == before
    assert acore.index.version == version == current(admin_settings)
    assert not (admin_settings.corpus_dir.parent / "etc").exists()
    row = audit(acore)[0]
    assert row["action"] == "add" and "rejected" in row["detail"]


def test_bad_upload_messages_in_english(acore):
    reply = run(acore.admin.add_document(Asker("discord", "1", "7", "en-US"), "../../etc/passwd", b"x"))
    assert reply.text.startswith("The file name “../../etc/passwd” is not allowed. Use a plain name")


def test_an_upload_that_breaks_the_build_is_taken_out_again(acore, admin_settings):
    old, before = acore.index.version, corpus_names(admin_settings)

    async def broken(on_event):
        raise BuildFailed("corpus folder has no text to index")

    acore.admin.builder = broken
    reply = run(acore.admin.add_document(CONSOLE, "new.md", NEW_DOC))
    assert not reply.ok
    assert reply.text.startswith("Документ «new.md» не добавлен, файл убран.\nПереиндексация не удалась")
    assert corpus_names(admin_settings) == before and acore.index.version == old == current(admin_settings)


def test_remove_document_takes_it_out_and_keeps_a_copy(acore, admin_settings):
    notes = (admin_settings.corpus_dir / "notes.md").read_bytes()
    reply = run(acore.admin.remove_document(TG_ADMIN, "notes.md"))
    assert reply.ok and reply.text.startswith("Документ «notes.md» удалён.\nГотово")
    assert "Удалённые документы: notes.md" in reply.text
    assert corpus_names(admin_settings) == ["sample.txt"]
    assert set(acore.index.manifest["sources"]) == {"sample.txt"}
    kept = list((admin_settings.data_dir / "removed").iterdir())
    assert len(kept) == 1 and kept[0].read_bytes() == notes
    answer = run(acore.service.ask("Что такое квантование моделей?", TG_USER))
    assert all(c.source != "notes.md" for c in answer.citations)
    last = run(acore.admin.remove_document(TG_ADMIN, "sample.txt"))
    assert not last.ok and last.text == "Нельзя удалить последний документ: боту не из чего будет отвечать."
    assert corpus_names(admin_settings) == ["sample.txt"]


def test_remove_unknown_or_unsafe_names(acore, admin_settings):
    for name in ("missing.md", "../config.yaml", "", "../../etc/passwd"):
        reply = run(acore.admin.remove_document(CONSOLE, name))
        assert not reply.ok and "нет. Есть: notes.md, sample.txt." in reply.text
    assert corpus_names(admin_settings) == ["notes.md", "sample.txt"]
    assert (admin_settings.corpus_dir.parent / "config.yaml").exists()


def test_a_removal_whose_build_fails_puts_the_file_back(acore, admin_settings):
    old = acore.index.version

    async def broken(on_event):
        raise BuildFailed("boom")

    acore.admin.builder = broken
    reply = run(acore.admin.remove_document(CONSOLE, "notes.md"))
    assert not reply.ok and reply.text.startswith("Документ «notes.md» не удалён, файл возвращён на место.")
    assert corpus_names(admin_settings) == ["notes.md", "sample.txt"]
    assert acore.index.version == old == current(admin_settings)


# --- the default builder: a subprocess speaking JSON lines ----------------------------------

FAKE_INDEXER = r"""
import json, os, sys, time
mode = sys.argv[1]
print(json.dumps({"stage": "parse", "done": 0, "total": 0, "eta_s": None}), flush=True)
print("a stray line that is not JSON", flush=True)
for i in range(1, 4):
    print(json.dumps({"stage": "embed", "done": i, "total": 3, "eta_s": 3 - i}), flush=True)
    if mode == "hang":
        time.sleep(60)
if mode == "fail":
    try:
        raise ValueError("corpus folder corpus has no .txt or .md files")
    except ValueError:
        import traceback; traceback.print_exc()
    sys.exit(1)
print(json.dumps({"stage": "report", "summary": "built " + os.environ.get("BOT_CONFIG", "-"),
                  "changed": True, "version": "v0009"}), flush=True)
"""


def fake_indexer(mode, config=None):
    return SubprocessBuilder([sys.executable, "-c", FAKE_INDEXER, mode], config_path=config)


def test_subprocess_builder_reads_progress_and_report(tmp_path):
    events = []
    report = run(fake_indexer("ok", tmp_path / "bot.yaml")(events.append))
    assert report == {"stage": "report", "summary": f"built {tmp_path / 'bot.yaml'}", "changed": True,
                      "version": "v0009"}
    assert [e["stage"] for e in events] == ["parse", "embed", "embed", "embed"]


def test_subprocess_builder_failure_is_one_line_without_a_trace():
    with pytest.raises(BuildFailed) as err:
        run(fake_indexer("fail")(lambda e: None))
    assert str(err.value) == "ValueError: corpus folder corpus has no .txt or .md files"


def test_subprocess_builder_is_killed_when_cancelled():
    builder = fake_indexer("hang")
    events = []

    async def go():
        task = asyncio.ensure_future(builder(events.append))
        await until(lambda: len(events) >= 2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    t0 = time.monotonic()
    run(go())
    assert time.monotonic() - t0 < 10


def test_default_builder_runs_python_m_bot_index_with_the_same_config(acore, admin_settings, monkeypatch):
    monkeypatch.setenv("BOT_CONFIG", str(admin_settings.corpus_dir.parent / "config.yaml"))
    service = AdminService(acore, acore.store, admin_settings)
    assert service.builder.command == [sys.executable, "-m", "bot", "index", "--progress-json"]
    assert service.builder.config_path == (admin_settings.corpus_dir.parent / "config.yaml").resolve()


# --- a build process killed at the worst moments --------------------------------------------

KILLED_BUILD = r"""
import sys, time
from pathlib import Path
sys.path[:0] = [{root!r}, {tests!r}]
import bot.core.index as ix
from conftest import HashEmbedder

class Slow(HashEmbedder):
    model_id = "slow-test-embedder"  # a different model: every passage is embedded again
    def embed_passages(self, texts):
        print("embedding", flush=True)
        time.sleep(0.3)
        return super().embed_passages(texts)

if sys.argv[1] == "write":
    real = ix._write_db
    def stuck(*a, **k):
        real(*a, **k)
        print("writing", flush=True)
        time.sleep(60)
    ix._write_db = stuck
ix.build_index(Path({corpus!r}), Path({index!r}), Slow(), min_chars=100, max_chars=400, batch=1)
print("finished", flush=True)
"""


@pytest.mark.parametrize("stage", ["embedding", "writing"])
def test_killing_a_build_process_leaves_the_old_index_usable(settings, built_index, embedder, stage):
    old = built_index.version
    script = KILLED_BUILD.format(root=str(ROOT), tests=str(ROOT / "tests"), corpus=str(settings.corpus_dir),
                                 index=str(settings.index_dir))
    proc = subprocess.Popen([sys.executable, "-c", script, "write" if stage == "writing" else "embed"],
                            stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        for line in proc.stdout:
            assert line.strip() != "finished" and time.monotonic() < deadline
            if line.strip() == stage:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
    idx = IndexDir(settings.index_dir)
    assert idx.current() == old and idx.versions() == [old]
    assert len(load_index(settings.index_dir).passages) == 7
    leftovers = list(idx.versions_dir.glob(".building-*"))
    assert bool(leftovers) == (stage == "writing")
    report = build_index(settings.corpus_dir, settings.index_dir, embedder, min_chars=100, max_chars=400, force=True)
    assert report.changed and idx.current() == report.version != old
    assert len(load_index(settings.index_dir).passages) == 7
    assert not list(idx.versions_dir.glob(".building-*"))


def test_an_unexpected_failure_is_a_message_not_an_exception(acore, admin_settings, monkeypatch):
    import bot.core.admin as admin_module

    def read_only(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(admin_module, "_write_new", read_only)
    reply = run(acore.admin.add_document(Asker("console", "l", "me", "en"), "new.md", NEW_DOC))
    assert not reply.ok and reply.text.startswith("The operation failed (PermissionError: [Errno 13] Permission denied")
    assert "Traceback" not in reply.text and "PermissionError" in acore.service.counters.last_error
    assert run(acore.admin.reindex(CONSOLE)).ok  # the admin lock was released


def test_the_real_index_command_failure_reaches_the_admin_as_one_line(acore, admin_settings, tmp_path):
    cfg = tmp_path / "broken.yaml"
    cfg.write_text(f"corpus_dir: {tmp_path / 'no-such-corpus'}\nindex_dir: {admin_settings.index_dir}\n"
                   f"data_dir: {tmp_path / 'data'}\nlogging: {{file: null}}\n", encoding="utf-8")
    old = acore.index.version
    acore.admin.builder = SubprocessBuilder(config_path=cfg)  # `python -m bot index --progress-json`
    reply = run(acore.admin.reindex(Asker("console", "l", "me", "en")), timeout=60)
    assert not reply.ok
    assert reply.text == (f"Reindexing failed; questions are still answered from index {old}. "
                          f"Error: error: corpus folder {tmp_path / 'no-such-corpus'} does not exist")
    assert acore.index.version == old == current(admin_settings)
