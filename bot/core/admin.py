"""Admin operations every front end and the CLI share: reindex, status, add/remove a document,
rollback. Each method checks the permission itself, audits the attempt and returns a ready-to-show
`AdminReply` in the asker's language; nothing here raises for a user's input.

Index builds run outside the answering path (a subprocess by default, or a worker thread), so
questions keep being answered from the live index; the switch to a new version is atomic on disk
(`IndexDir.switch`) and in memory (`core.reload_index`). Mutating operations are exclusive: a
second one while one runs is refused, not queued.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import re
import shutil
import sys
import threading
import time
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Awaitable, Callable

from .corpus import SUFFIXES
from .index import IndexDir, Progress, build_index, stale_sources
from .messages import MESSAGES, t
from .service import Asker
from .text import valid_utf8

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str], object]  # may return an awaitable (e.g. an edit coroutine)
BuildEvent = dict  # {"stage": ..., "done": int, "total": int, "eta_s": float | None}
# A builder builds a new index version and switches CURRENT to it; it reports progress events and
# returns the final report {"version", "changed", "summary", and optionally BuildReport's fields}.
Builder = Callable[[Callable[[BuildEvent], None]], Awaitable[dict]]


class BuildFailed(Exception):
    """The index build did not complete; the message is one line, safe to show to an admin."""


class BuildCancelled(Exception):
    """Raised inside a build thread to stop it at the next progress report."""


@dataclass
class AdminReply:
    ok: bool
    text: str  # ready to show, in the asker's language (asker.user_lang or "ru")


# --- builders ------------------------------------------------------------------------------

def _last_line(text: str, limit: int = 300) -> str:
    """The last non-empty line (for a traceback: the exception itself), never the whole trace."""
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    return (lines[-1] if lines else "")[:limit]


def _short(exc: BaseException) -> str:
    return _last_line(f"{type(exc).__name__}: {exc}")


def default_config_path() -> Path | None:
    """The config file this process uses, so a build subprocess reads the same one."""
    raw = os.environ.get("BOT_CONFIG")
    if raw:
        return Path(raw).resolve()
    path = Path("config.yaml")
    return path.resolve() if path.is_file() else None


class SubprocessBuilder:
    """Runs `python -m bot index --progress-json` (one JSON object per stdout line).

    A separate process keeps the embedding model's memory and CPU threads out of the serving
    process; killing it at any point leaves the live index untouched (see bot.core.index).
    """

    def __init__(self, command: list[str] | None = None, config_path: Path | None = None) -> None:
        self.command = command or [sys.executable, "-m", "bot", "index", "--progress-json"]
        self.config_path = config_path

    async def __call__(self, on_event: Callable[[BuildEvent], None]) -> dict:
        env = dict(os.environ)
        if self.config_path:
            env["BOT_CONFIG"] = str(self.config_path)
        proc = await asyncio.create_subprocess_exec(
            *self.command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env)
        stderr = asyncio.ensure_future(proc.stderr.read())  # drained concurrently: no pipe deadlock
        report = None
        try:
            async for raw in proc.stdout:
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue  # a stray print is not a protocol line
                if not isinstance(event, dict):
                    continue
                if event.get("stage") == "report":
                    report = event
                else:
                    on_event(event)
            code = await proc.wait()
            err = (await stderr).decode("utf-8", "replace")
        except BaseException:  # cancelled (shutdown): stop the build; the live index is untouched
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            stderr.cancel()
            raise
        if code != 0:
            raise BuildFailed(_last_line(err) or f"the index builder exited with code {code}")
        if report is None:
            raise BuildFailed("the index builder exited without a report")
        return report


class InProcessBuilder:
    """Builds in a worker thread with an embedder already loaded in this process (tests, console)."""

    def __init__(self, settings, embedder) -> None:
        self.settings, self.embedder = settings, embedder

    async def __call__(self, on_event: Callable[[BuildEvent], None]) -> dict:
        loop = asyncio.get_running_loop()
        stop = threading.Event()

        def progress(p: Progress) -> None:
            if stop.is_set():
                raise BuildCancelled()
            loop.call_soon_threadsafe(on_event, asdict(p))

        s = self.settings
        future = loop.run_in_executor(None, lambda: build_index(
            s.corpus_dir, s.index_dir, self.embedder, min_chars=s.chunking.min_chars,
            max_chars=s.chunking.max_chars, progress=progress))
        try:
            report = await asyncio.shield(future)
        except asyncio.CancelledError:
            stop.set()  # the thread stops at its next progress report; wait so builds never overlap
            await asyncio.gather(future, return_exceptions=True)
            raise
        except Exception as exc:
            raise BuildFailed(_short(exc)) from exc
        return {"stage": "report", "summary": report.summary(), **asdict(report)}


# --- the asker's language, durations ---------------------------------------------------------

def _lang(asker: Asker) -> str:
    return "en" if (asker.user_lang or "").lower().startswith("en") else "ru"


def _duration(seconds: float, lang: str) -> str:
    d, h, m, s = MESSAGES["units"][lang]
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} {s}"
    if seconds < 3600:
        return f"{seconds // 60} {m}"
    if seconds < 86400:
        return f"{seconds // 3600} {h} {seconds % 3600 // 60} {m}"
    return f"{seconds // 86400} {d} {seconds % 86400 // 3600} {h}"


# --- uploads -------------------------------------------------------------------------------

MAX_NAME = 100
_NAME = re.compile(r"[^\W_][\w .()\-]*")  # \w is Unicode-aware: Cyrillic names are fine


def check_name(filename: str) -> tuple[str, dict] | None:
    """None if `filename` is a safe plain .txt/.md name, else (message key, kwargs)."""
    name = unicodedata.normalize("NFC", filename or "")
    shown = valid_utf8(name)[:MAX_NAME]
    if (len(name) > MAX_NAME or not _NAME.fullmatch(name) or name.endswith((" ", "."))
            or ".." in name):
        return "bad_name", {"name": shown}
    if Path(name).suffix.lower() not in SUFFIXES:
        return "bad_type", {}
    return None


def check_content(data: bytes, limit: int) -> tuple[str, dict] | None:
    """None if `data` is a non-empty UTF-8 text within `limit` bytes, else (message key, kwargs)."""
    if len(data) > limit:
        return "too_big", {"size": len(data), "limit": limit}
    if b"\x00" in data:
        return "binary", {}
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return "not_utf8", {"line": data[: exc.start].count(b"\n") + 1}
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f")
    if controls > max(8, len(text) // 1000):
        return "binary", {}
    if not any(ch.isalnum() for ch in text):
        return "empty_file", {}
    return None


def _write_new(path: Path, data: bytes) -> None:
    """Write `path` atomically and only if it does not exist (a link cannot replace a file)."""
    tmp = path.with_name(f".upload-{path.name}.tmp")  # hidden and not .txt/.md: never indexed
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # fails if `path` exists: never a silent overwrite
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links; the caller holds the admin lock
            if path.exists():
                raise FileExistsError(path) from None
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- the service ---------------------------------------------------------------------------

class AdminService:
    progress_interval_s = 1.0  # front ends edit one message; Telegram and Discord rate-limit edits

    def __init__(self, core, store, settings, builder: Builder | None = None) -> None:
        self.core, self.store, self.settings = core, store, settings
        self.builder = builder or SubprocessBuilder(config_path=default_config_path())
        self._exclusive = threading.Lock()  # held by the one running mutating operation
        self._running: str | None = None  # its message key, for "busy" and status

    # --- permissions -----------------------------------------------------------------------

    def is_admin(self, asker: Asker) -> bool:
        if asker.platform in ("console", "cli"):
            return True  # local and trusted
        if asker.platform == "telegram":
            ids = self.settings.telegram.admin_ids
        elif asker.platform == "discord":
            role = self.settings.discord.admin_role
            if role and role in asker.roles:
                return True
            ids = self.settings.discord.admin_ids
        else:
            return False
        try:
            return int(asker.user_id) in ids
        except (TypeError, ValueError):
            return False

    def _audit(self, asker: Asker, action: str, allowed: bool, detail: str = "") -> None:
        log.info("admin %s by %s: %s %s", action, asker.platform, "allowed" if allowed else "refused", detail)
        if self.store is not None:
            try:
                self.store.audit(asker, action, allowed, detail)
            except Exception:
                log.exception("could not write the audit log")

    def _refusal(self, asker: Asker, action: str, detail: str = "") -> AdminReply | None:
        if self.is_admin(asker):
            return None
        self._audit(asker, action, False, detail)
        return AdminReply(False, t("not_admin", _lang(asker)))

    async def _run_exclusive(self, asker: Asker, action: str, detail: str, work) -> AdminReply:
        lang = _lang(asker)
        if not self._exclusive.acquire(blocking=False):
            self._audit(asker, action, True, f"{detail} refused: {self._running} running".strip())
            return AdminReply(False, t("admin_busy", lang, what=t(self._running or "op_reindex", lang)))
        self._running = f"op_{action}"
        try:
            reply = await work(lang)
        except Exception as exc:  # e.g. a read-only corpus folder: a message, never a trace
            log.exception("admin %s failed", action)
            error = _short(exc)
            self._note_error(f"{action}: {error}")
            reply = AdminReply(False, t("failed", lang, error=error))
        finally:
            self._running = None
            self._exclusive.release()
        self._audit(asker, action, True, f"{detail} {'ok' if reply.ok else 'failed'}: {reply.text[:300]}".strip())
        return reply

    # --- operations ------------------------------------------------------------------------

    async def reindex(self, asker: Asker, on_progress: ProgressCallback | None = None) -> AdminReply:
        if refused := self._refusal(asker, "reindex"):
            return refused
        return await self._run_exclusive(asker, "reindex", "", lambda lang: self._reindex_reply(lang, on_progress))

    async def status(self, asker: Asker) -> AdminReply:
        if refused := self._refusal(asker, "status"):
            return refused
        self._audit(asker, "status", True)
        lang = _lang(asker)
        try:
            return await self._status(lang)
        except Exception as exc:
            log.exception("admin status failed")
            return AdminReply(False, t("failed", lang, error=_short(exc)))

    async def _status(self, lang: str) -> AdminReply:
        index, service = self.core.index, self.core.service
        try:
            built = datetime.fromisoformat(index.manifest["built_at"])
            age = _duration((datetime.now(built.tzinfo) - built).total_seconds(), lang)
        except (KeyError, ValueError):
            age = "?"
        if self.store is not None:
            today = await asyncio.to_thread(self.store.answers_today)
        else:
            today = {"answers": service.counters.answers_today, "refusals": service.counters.refusals_today}
        lines = [t("status", lang, version=index.version, age=age, sources=len(index.manifest.get("sources", {})),
                    passages=len(index.passages), model=getattr(self.core.llm, "model_id", "?"),
                    backend=self.settings.llm.backend, embedder=getattr(self.core.embedder, "model_id", "?"),
                    uptime=_duration(time.time() - service.counters.started, lang), queue=service.queue_length,
                    error=service.counters.last_error or t("none", lang), **today)]
        if self._running:
            lines.append(t("running", lang, what=t(self._running, lang)))
        stale = await asyncio.to_thread(stale_sources, index, self.settings.corpus_dir)
        if stale:
            lines.append(t("stale", lang, names=", ".join(stale)))
        return AdminReply(True, "\n".join(lines))

    async def add_document(self, asker: Asker, filename: str, data: bytes,
                           on_progress: ProgressCallback | None = None) -> AdminReply:
        shown = valid_utf8((filename or "")[:MAX_NAME])
        detail = f"{shown} ({len(data)} bytes)"
        if refused := self._refusal(asker, "add", detail):
            return refused
        lang = _lang(asker)
        problem = check_name(filename) or check_content(data, self.settings.limits.max_upload_bytes)
        if problem:
            self._audit(asker, "add", True, f"{detail} rejected: {problem[0]}")
            return AdminReply(False, t(problem[0], lang, **problem[1]))
        name = unicodedata.normalize("NFC", filename)
        return await self._run_exclusive(asker, "add", detail, lambda lang: self._add(name, data, lang, on_progress))

    async def remove_document(self, asker: Asker, source: str,
                              on_progress: ProgressCallback | None = None) -> AdminReply:
        shown = valid_utf8((source or "")[:MAX_NAME])
        if refused := self._refusal(asker, "remove", shown):
            return refused
        return await self._run_exclusive(asker, "remove", shown,
                                         lambda lang: self._remove(source or "", lang, on_progress))

    async def rollback(self, asker: Asker) -> AdminReply:
        if refused := self._refusal(asker, "rollback"):
            return refused
        return await self._run_exclusive(asker, "rollback", "", self._rollback)

    # --- implementation --------------------------------------------------------------------

    def _sources(self) -> dict[str, Path]:
        folder = self.settings.corpus_dir
        return {p.name: p for p in sorted(folder.iterdir())
                if p.is_file() and p.suffix.lower() in SUFFIXES} if folder.is_dir() else {}

    async def _reindex_reply(self, lang: str, on_progress) -> AdminReply:
        return AdminReply(*await self._reindex(lang, on_progress))

    async def _add(self, name: str, data: bytes, lang: str, on_progress) -> AdminReply:
        existing = self._sources()
        if name.casefold() in {n.casefold() for n in existing}:
            return AdminReply(False, t("exists", lang, name=name))
        path = self.settings.corpus_dir / name
        try:
            await asyncio.to_thread(_write_new, path, data)
        except FileExistsError:
            return AdminReply(False, t("exists", lang, name=name))
        ok = False
        try:
            ok, text = await self._reindex(lang, on_progress)
        finally:
            if not ok:  # failed or cancelled: corpus and live index must agree
                path.unlink(missing_ok=True)
        return AdminReply(ok, f"{t('added' if ok else 'add_failed', lang, name=name)}\n{text}")

    async def _remove(self, source: str, lang: str, on_progress) -> AdminReply:
        existing = self._sources()
        if source not in existing:
            shown = valid_utf8(source[:MAX_NAME])
            return AdminReply(False, t("no_such", lang, name=shown, names=", ".join(existing) or "—"))
        if len(existing) == 1:
            return AdminReply(False, t("last_source", lang))
        path = existing[source]
        aside = path.with_name(f".{source}.removing")  # hidden and not .txt/.md: never indexed
        os.replace(path, aside)
        ok = False
        try:
            ok, text = await self._reindex(lang, on_progress)
        finally:
            if not ok:  # failed or cancelled: corpus and live index must agree
                os.replace(aside, path)
        if not ok:
            return AdminReply(False, f"{t('remove_failed', lang, name=source)}\n{text}")
        # Keep a copy out of the corpus: a removal by mistake loses nothing.
        removed_dir = self.settings.data_dir / "removed"
        removed_dir.mkdir(parents=True, exist_ok=True)
        shutil.move(aside, removed_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{source}")
        return AdminReply(True, f"{t('removed', lang, name=source)}\n{text}")

    async def _reindex(self, lang: str, on_progress) -> tuple[bool, str]:
        """Build, switch and load a new version; on any failure the old version stays live."""
        idx = IndexDir(self.settings.index_dir)
        old = self.core.index.version
        progress = _Progress(on_progress, lang, self.progress_interval_s)
        progress.line(t("started", lang, version=old))
        ok = False
        try:
            try:
                report = await self.builder(progress.event)
            except Exception as exc:
                error = str(exc) if isinstance(exc, BuildFailed) else _short(exc)
                self._note_error(f"reindex: {error}")
                return False, t("build_failed", lang, version=old, error=error)
            new = report.get("version") or idx.current() or old
            if new != self.core.index.version:
                try:
                    await asyncio.to_thread(self.core.reload_index, new)
                except Exception as exc:
                    error = _last_line(str(exc)) or type(exc).__name__
                    self._note_error(f"reindex: loading {new}: {error}")
                    return False, t("load_failed", lang, new=new, version=old, error=error)
            ok = True
            return True, self._describe(report, new, lang)
        finally:
            if not ok and idx.current() != old:  # never leave disk pointing elsewhere than memory
                idx.switch(old)
            await progress.drain()

    async def _rollback(self, lang: str) -> AdminReply:
        idx = IndexDir(self.settings.index_dir)
        old = self.core.index.version
        prev = idx.previous()
        if prev is None:
            return AdminReply(False, t("no_previous", lang, version=old))
        idx.switch(prev)
        try:
            await asyncio.to_thread(self.core.reload_index, prev)
        except Exception as exc:
            idx.switch(old)
            error = _last_line(str(exc)) or type(exc).__name__
            self._note_error(f"rollback to {prev}: {error}")
            return AdminReply(False, t("rollback_failed", lang, error=error, version=old))
        lines = [t("rolled_back", lang, version=prev, old=old)]
        stale = await asyncio.to_thread(stale_sources, self.core.index, self.settings.corpus_dir)
        if stale:
            lines.append(t("stale", lang, names=", ".join(stale)))
        return AdminReply(True, "\n".join(lines))

    def _describe(self, report: dict, version: str, lang: str) -> str:
        if not report.get("changed", True):
            return t("unchanged", lang, version=version)
        lines = [t("reindexed", lang, version=version)]
        if all(k in report for k in ("passages", "added", "removed", "embedded", "seconds")):
            lines.append(t("changes", lang, **{k: report[k] for k in ("passages", "added", "removed",
                                                                        "embedded", "seconds")}))
            for key in ("added", "changed", "removed"):
                if names := report.get(f"sources_{key}"):
                    lines.append(t(f"src_{key}", lang, names=", ".join(names)))
        elif report.get("summary"):
            lines.append(str(report["summary"]))
        return "\n".join(lines)

    def _note_error(self, error: str) -> None:
        """Log `error` and show it as the last error in `status`."""
        log.warning("admin operation failed: %s", error)
        self.core.service.counters.last_error = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {error}"


class _Progress:
    """Turns build events into progress lines for one message, at most one per interval."""

    def __init__(self, callback: ProgressCallback | None, lang: str, interval_s: float) -> None:
        self.callback, self.lang, self.interval = callback, lang, interval_s
        self.last = float("-inf")
        self.tasks: set[asyncio.Future] = set()

    def event(self, ev: BuildEvent) -> None:
        stage = ev.get("stage")
        if stage == "embed":
            eta = ev.get("eta_s")
            eta_text = t("eta", self.lang, time=_duration(eta, self.lang)) if eta else ""
            text = t("stage_embed", self.lang, done=ev.get("done", 0), total=ev.get("total", 0), eta=eta_text)
        elif stage in ("parse", "write", "done"):
            text = t(f"stage_{stage}", self.lang)
        else:
            return
        if time.monotonic() - self.last >= self.interval:
            self.line(text)

    def line(self, text: str) -> None:
        if self.callback is None:
            return
        self.last = time.monotonic()
        try:
            result = self.callback(text)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self.tasks.add(task)
                task.add_done_callback(self._finished)
        except Exception:
            log.exception("progress callback failed")

    def _finished(self, task: asyncio.Future) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("progress callback failed: %r", task.exception())

    async def drain(self) -> None:
        """Let pending progress edits land before the final reply, so none overwrites it."""
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=10)
