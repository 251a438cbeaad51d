"""The bot's own SQLite store: answers, feedback and the admin audit log.

One connection in autocommit mode, WAL journal and `synchronous=FULL`: every record is its own
committed transaction, so a process killed at any moment loses nothing already written. The
connection is shared by all front ends of one process and guarded by a lock. User ids are stored
only as HMAC-SHA-256 of `platform:user_id`, keyed with a random key kept in the store itself.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

import sqlite_utils

from .answer import Answer
from .migrations import migrate
from .service import Asker
from .text import valid_utf8

DB_NAME = "bot.db"


def keyed_hash(key: bytes, platform: str, user_id: str) -> str:
    return hmac.new(key, valid_utf8(f"{platform}:{user_id}").encode(), hashlib.sha256).hexdigest()


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


class Store:
    """Implements `service.Recorder`; also the audit log and the figures for `stats`/`status`."""

    def __init__(self, path: str | Path, *, context: Callable[[], dict] | None = None) -> None:
        """`context()` returns {"model": ..., "index_version": ...} for each recorded answer."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.context = context or (lambda: {})
        self._lock = threading.Lock()
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
        self.db = sqlite_utils.Database(conn)
        self.db.execute("pragma journal_mode=wal")
        self.db.execute("pragma synchronous=full")
        self.db.execute("pragma foreign_keys=on")
        with self._lock:
            migrate(self.db)
            key = self.db.execute("select value from store_keys where name = 'user_hash'").fetchone()[0]
        self._key = bytes.fromhex(key)

    def user_hash(self, asker: Asker) -> str:
        return keyed_hash(self._key, asker.platform, asker.user_id)

    # --- Recorder --------------------------------------------------------------------------

    def record_answer(self, asker: Asker, answer: Answer) -> int:
        ctx = self.context()
        row = {
            "platform": asker.platform, "chat": valid_utf8(asker.chat_id),
            "user_hash": self.user_hash(asker),
            "question": valid_utf8(answer.question), "answer": valid_utf8(answer.text), "refused": int(answer.refused),
            "reason": answer.reason, "lang": answer.lang,
            "passages": json.dumps([c.passage_id for c in answer.citations]),
            "timings": json.dumps({k: round(v, 1) for k, v in answer.timings.items()}),
            "model": ctx.get("model"), "index_version": ctx.get("index_version"), "created_at": _now(),
        }
        with self._lock:
            return self.db["answers"].insert(row).last_pk

    def record_feedback(self, answer_id: int, asker: Asker, value: int) -> bool:
        """Store a 👍/👎; a user's later vote on the same answer replaces the earlier one."""
        if value not in (1, -1):
            return False
        with self._lock:
            if not self.db.execute("select 1 from answers where id = ?", [answer_id]).fetchone():
                return False
            self.db.execute(
                "insert into feedback (answer_id, user_hash, value, created_at) values (?, ?, ?, ?) "
                "on conflict (answer_id, user_hash) do update set value = excluded.value, "
                "created_at = excluded.created_at",
                [answer_id, self.user_hash(asker), value, _now()])
        return True

    # --- audit -----------------------------------------------------------------------------

    def audit(self, asker: Asker, action: str, allowed: bool, detail: str = "") -> int:
        row = {"platform": asker.platform, "user_hash": self.user_hash(asker),
               "action": action, "allowed": int(allowed), "detail": valid_utf8(detail)[:2000], "created_at": _now()}
        with self._lock:
            return self.db["audit"].insert(row).last_pk

    def audit_rows(self, limit: int = 50) -> list[dict]:
        with self._lock:
            return list(self.db.query("select * from audit order by id desc limit ?", [limit]))

    # --- figures ---------------------------------------------------------------------------

    def answers_today(self) -> dict[str, int]:
        """{"answers": n, "refusals": m} for the current local day."""
        today = datetime.now().astimezone().date().isoformat()
        with self._lock:
            row = self.db.execute(
                "select coalesce(sum(refused = 0), 0), coalesce(sum(refused = 1), 0) from answers "
                "where created_at >= ?", [today]).fetchone()
        return {"answers": row[0], "refusals": row[1]}

    def summary(self, days: int = 14) -> dict:
        """Figures for `python -m bot stats` over the last `days` days (local time)."""
        since = (datetime.now().astimezone().date() - timedelta(days=days - 1)).isoformat()
        with self._lock:
            by_day = [dict(day=d, answers=a, refusals=r) for d, a, r in self.db.execute(
                "select substr(created_at, 1, 10) as day, sum(refused = 0), sum(refused = 1) from answers "
                "where created_at >= ? group by day order by day", [since])]
            by_reason = dict(self.db.execute(
                "select reason, count(*) from answers where created_at >= ? group by reason "
                "order by count(*) desc", [since]).fetchall())
            up, down = self.db.execute(
                "select coalesce(sum(value = 1), 0), coalesce(sum(value = -1), 0) from feedback "
                "where answer_id in (select id from answers where created_at >= ?)", [since]).fetchone()
            totals = [json.loads(t).get("total_ms") for t, in self.db.execute(
                "select timings from answers where created_at >= ? and refused = 0", [since])]
            denied = self.db.execute("select count(*) from audit where created_at >= ? and allowed = 0",
                                     [since]).fetchone()[0]
        latency = sorted(x for x in totals if x is not None)
        return {
            "since": since, "by_day": by_day, "by_reason": by_reason,
            "answers": sum(d["answers"] for d in by_day), "refusals": sum(d["refusals"] for d in by_day),
            "feedback": {"up": up, "down": down},
            "latency_ms": {"n": len(latency), "p50": _percentile(latency, 0.5), "p95": _percentile(latency, 0.95)},
            "admin_denied": denied,
        }

    def close(self) -> None:
        with self._lock:
            self.db.conn.close()


def format_summary(s: dict) -> str:
    """Plain-text rendering of `Store.summary()` for the terminal."""
    lat = s["latency_ms"]
    ms = lambda v: "–" if v is None else f"{v:.0f} ms"  # noqa: E731
    lines = [f"since {s['since']}: {s['answers']} answers, {s['refusals']} refusals",
             f"latency of answers (n={lat['n']}): p50 {ms(lat['p50'])}, p95 {ms(lat['p95'])}",
             f"feedback: {s['feedback']['up']} 👍, {s['feedback']['down']} 👎",
             f"refused admin attempts: {s['admin_denied']}", "", "day         answers  refusals"]
    lines += [f"{d['day']}  {d['answers']:7d}  {d['refusals']:8d}" for d in s["by_day"]] or ["(no answers yet)"]
    if s["by_reason"]:
        lines += ["", "by reason: " + ", ".join(f"{k} {v}" for k, v in s["by_reason"].items())]
    return "\n".join(lines)
