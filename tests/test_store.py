"""The bot's SQLite store: migrations, records, privacy, figures, concurrency, crash safety."""
import asyncio
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlite_utils

from bot.core.answer import Answer, Citation
from bot.core.migrations import MIGRATIONS, applied, migrate
from bot.core.service import Asker
from bot.core.store import DB_NAME, Store, format_summary, keyed_hash

ROOT = Path(__file__).resolve().parents[1]
TG = Asker("telegram", "-100500", "123456789", "ru")


def answer(text="Ответ.", refused=False, reason="answered", total_ms=100.0, cited=("sample.txt#3",)):
    cits = [Citation(i + 1, pid, "sample.txt", "Раздел", None, 1, 2, "цитата") for i, pid in enumerate(cited)]
    return Answer(question="Что такое LoRA?", lang="ru", refused=refused, text=text, citations=cits,
                  timings={"retrieve_ms": 12.34, "total_ms": total_ms}, reason=reason)


def open_db(path: Path) -> sqlite_utils.Database:
    return sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))


def test_fresh_database_gets_every_migration_once(tmp_path):
    store = Store(tmp_path / DB_NAME)
    assert applied(store.db) == [m.__name__ for m in MIGRATIONS] == \
        ["m001_initial", "m002_lang_and_day_indexes", "m003_user_hash_key"]
    assert {"answers", "feedback", "audit", "_migrations"} <= set(store.db.table_names())
    assert store.db.execute("pragma journal_mode").fetchone()[0] == "wal"
    store.close()
    again = Store(tmp_path / DB_NAME)  # reopening applies nothing twice
    assert applied(again.db) == [m.__name__ for m in MIGRATIONS]
    assert again.db.execute("select count(*) from _migrations").fetchone()[0] == len(MIGRATIONS)
    again.close()


def test_upgrade_from_the_previous_schema_keeps_old_rows(tmp_path):
    path = tmp_path / DB_NAME
    db = open_db(path)
    migrate(db, MIGRATIONS[:1])  # a database written by the first release
    assert "lang" not in db["answers"].columns_dict
    db["answers"].insert({"platform": "telegram", "chat": "1", "user_hash": "h", "question": "старый вопрос",
                          "answer": "старый ответ", "refused": 0, "reason": "answered", "passages": "[]",
                          "timings": json.dumps({"total_ms": 50}), "model": "m", "index_version": "v1",
                          "created_at": "2024-01-01T10:00:00+00:00"})
    db.conn.close()

    store = Store(path)
    assert applied(store.db)[-1] == "m003_user_hash_key"
    assert "lang" in store.db["answers"].columns_dict
    assert {"answers_created_at"} <= {i.name for i in store.db["answers"].indexes}
    old = store.db.execute("select question, lang from answers").fetchall()
    assert old == [("старый вопрос", None)]
    new_id = store.record_answer(TG, answer())
    assert store.db.execute("select lang from answers where id = ?", [new_id]).fetchone() == ("ru",)
    store.close()


def test_a_failing_migration_leaves_the_schema_unchanged(tmp_path):
    db = open_db(tmp_path / DB_NAME)

    def m_half_done(db):
        db.execute("create table half (x integer)")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        migrate(db, [MIGRATIONS[0], m_half_done])
    assert applied(db) == ["m001_initial"]
    assert "half" not in db.table_names()  # the DDL was rolled back with it


def test_answers_are_recorded_without_the_raw_user_id(tmp_path):
    store = Store(tmp_path / DB_NAME, context=lambda: {"model": "qwen.gguf", "index_version": "v0007"})
    rid = store.record_answer(TG, answer(cited=("sample.txt#3", "notes.md#1")))
    row = store.db["answers"].get(rid)
    assert row["platform"] == "telegram" and row["chat"] == "-100500"
    assert row["user_hash"] == store.user_hash(TG) and len(row["user_hash"]) == 64
    assert row["user_hash"] != hashlib.sha256(b"telegram:123456789").hexdigest()  # keyed: not reversible by enumeration
    assert json.loads(row["passages"]) == ["sample.txt#3", "notes.md#1"]
    assert json.loads(row["timings"]) == {"retrieve_ms": 12.3, "total_ms": 100.0}
    assert (row["model"], row["index_version"], row["refused"], row["reason"]) == ("qwen.gguf", "v0007", 0, "answered")
    assert store.record_feedback(rid, TG, 1)
    store.audit(TG, "reindex", False)
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob(f"{DB_NAME}*"))
    assert b"123456789" not in raw  # neither in answers, feedback nor audit


def test_the_same_user_id_on_two_platforms_is_two_users():
    assert keyed_hash(b"k", "telegram", "42") != keyed_hash(b"k", "discord", "42")


def test_each_store_has_its_own_user_hash_key_that_survives_a_restart(tmp_path):
    first = Store(tmp_path / "a" / DB_NAME)
    again = Store(tmp_path / "a" / DB_NAME)
    other = Store(tmp_path / "b" / DB_NAME)
    assert first.user_hash(TG) == again.user_hash(TG) != other.user_hash(TG)
    for store in (first, again, other):
        store.close()


def test_lone_surrogates_in_stored_text_do_not_break_recording(tmp_path):
    store = Store(tmp_path / DB_NAME)
    a = answer(text="bad \ud800 text")
    a.question = "q \udfff"
    rid = store.record_answer(Asker("discord", "c\ud800", "u"), a)
    assert store.db["answers"].get(rid)["answer"] == "bad ? text"
    store.close()


def test_feedback_one_vote_per_user_latest_wins(tmp_path):
    store = Store(tmp_path / DB_NAME)
    rid = store.record_answer(TG, answer())
    other = Asker("telegram", "-100500", "555")
    assert store.record_feedback(rid, TG, 1)
    assert store.record_feedback(rid, TG, -1)  # changed their mind
    assert store.record_feedback(rid, other, 1)
    rows = sorted((r["user_hash"], r["value"]) for r in store.db["feedback"].rows)
    assert rows == sorted([(store.user_hash(TG), -1), (store.user_hash(other), 1)])
    assert not store.record_feedback(rid + 100, TG, 1)  # no such answer
    assert not store.record_feedback(rid, TG, 5)
    assert store.summary()["feedback"] == {"up": 1, "down": 1}
    store.close()


def test_audit_rows(tmp_path):
    store = Store(tmp_path / DB_NAME)
    store.audit(TG, "reindex", False, "not an admin")
    store.audit(Asker("console", "local", "me"), "add", True, "notes.md ok")
    rows = store.audit_rows()
    assert [(r["action"], r["allowed"], r["detail"]) for r in rows] == [("add", 1, "notes.md ok"),
                                                                       ("reindex", 0, "not an admin")]
    assert store.summary()["admin_denied"] == 1
    store.close()


def test_summary_and_answers_today(tmp_path):
    store = Store(tmp_path / DB_NAME)
    for ms in range(10, 210, 10):  # 20 answers: 10, 20, ..., 200 ms
        store.record_answer(TG, answer(total_ms=float(ms)))
    store.record_answer(TG, answer("Нет ответа.", refused=True, reason="no_match", cited=()))
    store.record_answer(TG, answer("Занят.", refused=True, reason="busy", total_ms=1, cited=()))
    store.db["answers"].insert({"platform": "telegram", "chat": "1", "user_hash": "h", "question": "q",
                                "answer": "a", "refused": 0, "reason": "answered", "passages": "[]",
                                "timings": "{}", "created_at": "2001-01-01T10:00:00+00:00"})  # outside the window
    assert store.answers_today() == {"answers": 20, "refusals": 2}
    s = store.summary(days=7)
    assert (s["answers"], s["refusals"]) == (20, 2)
    assert len(s["by_day"]) == 1 and s["by_day"][0]["answers"] == 20
    assert s["by_reason"] == {"answered": 20, "no_match": 1, "busy": 1}
    assert s["latency_ms"] == {"n": 20, "p50": 110.0, "p95": 190.0}  # refusals are not in the latency
    text = format_summary(s)
    assert "20 answers, 2 refusals" in text and "p95 190 ms" in text and "no_match 1" in text
    store.close()


def test_front_ends_in_threads_share_one_store(tmp_path):
    store = Store(tmp_path / DB_NAME)
    ids, errors = [], []

    def front_end(platform):
        try:
            for i in range(40):
                ids.append(store.record_answer(Asker(platform, "c", str(i)), answer()))
                store.audit(Asker(platform, "c", str(i)), "status", True)
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=front_end, args=(p,)) for p in ("telegram", "discord", "console", "cli")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    assert len(set(ids)) == 160
    assert store.db.execute("select count(*) from answers").fetchone()[0] == 160
    assert store.db.execute("select count(*) from audit").fetchone()[0] == 160
    store.close()


def test_answers_through_the_service_are_recorded_with_feedback(settings, built_index, embedder, llm):
    from bot.app import Core

    core = Core(settings, llm=llm, embedder=embedder)
    store = core.store
    try:
        async def go():
            return await asyncio.gather(core.service.ask("Что автор думает о LoRA?", TG),
                                        core.service.ask("Как приготовить борщ?", Asker("discord", "9", "8")))
        good, refused = asyncio.run(asyncio.wait_for(go(), 20))
        assert good.answer_id and refused.answer_id and good.answer_id != refused.answer_id
        assert core.service.feedback(good.answer_id, TG, -1)
        row = store.db["answers"].get(good.answer_id)
        assert row["answer"] == good.text and row["index_version"] == core.index.version
        assert row["model"] == "scripted-test-llm"
        assert json.loads(row["passages"]) == [c.passage_id for c in good.citations] != []
        assert store.db["answers"].get(refused.answer_id)["refused"] == 1
    finally:
        core.close()


WRITER = """
import sys
sys.path.insert(0, {root!r})
from bot.core.answer import Answer
from bot.core.service import Asker
from bot.core.store import Store
store = Store({path!r})
for i in range(1_000_000):
    n = store.record_answer(Asker("telegram", "c", str(i)), Answer("q%d" % i, "ru", False, "answer " * 300))
    print(n, flush=True)
"""


def test_a_process_killed_while_writing_loses_nothing_committed(tmp_path):
    path = tmp_path / DB_NAME
    proc = subprocess.Popen([sys.executable, "-c", WRITER.format(root=str(ROOT), path=str(path))],
                            stdout=subprocess.PIPE, text=True)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(int(line))
            if len(seen) >= 150:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=10)
    seen += [int(x) for x in rest.split()]
    assert len(seen) >= 150
    store = Store(path)  # reopens cleanly after the kill (WAL recovery)
    assert store.db.execute("pragma integrity_check").fetchone()[0] == "ok"
    ids = {r[0] for r in store.db.execute("select id from answers")}
    assert set(seen) <= ids  # every row reported as written survived
    store.close()
