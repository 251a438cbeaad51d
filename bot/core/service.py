"""The answer service every front end calls: limits, a bounded fair queue, chat history, records.

The pipeline (blocking, CPU-bound, one model instance) runs on one worker thread; front ends are
async and await `ask`. Everything a user can trigger ends in an `Answer` — an answer, a refusal,
or a clear busy/limit/timeout message — never an exception.
"""
from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Protocol

from .answer import Answer
from .messages import t
from .text import language, strip_markup, valid_utf8

ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
# A greeting, a thank-you or a question about the bot itself is not a question about the material: it
# gets what the bot does, or a "you're welcome", not "the material does not answer this" after a search.
_HELLO = (r"(?:привет\w*|здравствуй\w*|добр\w+\s+(?:день|утро|вечер)|доброго\s+времени\s+суток|hi|hello|hey"
          r"|good\s+(?:morning|afternoon|evening))(?:[\s,]+(?:бот|всем|there|bot|all))?")
_HOW_ARE_YOU = r"(?:как\s+(?:у\s+тебя\s+)?(?:дела|ты|поживаешь)|how\s+are\s+you(?:\s+doing)?|how(?:'s|\s+is)\s+it\s+going)"
GREETING = re.compile(rf"^(?:{_HELLO}(?:[\s,!.]+{_HOW_ARE_YOU})?|{_HOW_ARE_YOU})[\s!.?)]*$", re.I)
THANKS = re.compile(
    r"^(?:спасибо|благодарю|спс|thanks|thank\s+you|thx)(?:[\s,]+(?:большое|огромное|a\s+lot|so\s+much|very\s+much))?"
    r"[\s!.)]*$", re.I)
_WORK = r"(?:материал\w*|текст\w*|книг\w*|сборник\w*|material|text|book|collection)"
ABOUT = re.compile(
    r"^(?:кто\s+(?:автор|написал)(?:\s+(?:эт\w+\s+)?" + _WORK + r")?|о\s+ч[её]м\s+(?:эт\w+\s+)?(?:" + _WORK
    + r"|бот|ты)|что\s+ты\s+умеешь|who\s+(?:is\s+the\s+author|wrote\s+(?:this|it))(?:\s+of\s+(?:this|the)\s+"
    + _WORK + r")?|what\s+(?:is|'s)\s+(?:this|the)\s+(?:" + _WORK + r"|bot)\s+about|what\s+can\s+you\s+do)[\s?!.]*$",
    re.I)
_NAMED = re.compile(_WORK + r"|\b(?:бот|ты|bot|you)\b", re.I)  # a question that names the material or the bot


def small_talk(text: str, chatting: bool) -> str | None:
    """The message for a greeting, a thank-you or a question about the bot itself; None for a question.
    In a conversation a bare "Кто автор?" asks about the article just quoted, not about the material."""
    if GREETING.match(text):
        return "greeting"
    if THANKS.match(text):
        return "thanks"
    return "help" if ABOUT.match(text) and (not chatting or _NAMED.search(text)) else None


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asker:
    """Who asks, where: the front end's ids as strings."""

    platform: str  # "console" | "cli" | "telegram" | "discord"
    chat_id: str
    user_id: str
    user_lang: str | None = None  # the client's language code, a hint for UI strings
    roles: tuple[str, ...] = ()  # platform role names (Discord), for admin checks
    # Chat users share the bot and are rate-limited; the machine's own operator (the console chat,
    # `ask`, `eval`) is not: `ask -` answers a whole file of questions.
    limited: bool = True

    @property
    def chat_key(self) -> str:
        return f"{self.platform}:{self.chat_id}"


@dataclass
class Turn:
    question: str
    passage_ids: list[str]
    at: float = field(default_factory=time.monotonic)


class Pipeline(Protocol):
    def answer(self, question: str, history: list[Turn], on_partial: Callable[[str], None] | None,
               cancel: threading.Event) -> tuple[Answer, list[str]]:
        """Answer one question; return the Answer and the passage ids it retrieved."""


class Recorder(Protocol):
    def record_answer(self, asker: Asker, answer: Answer) -> int | None: ...

    def record_feedback(self, answer_id: int, asker: Asker, value: int) -> bool: ...


class RateLimiter:
    """Sliding one-minute windows per user and for everyone."""

    def __init__(self, per_user: int, global_: int, window_s: float = 60.0) -> None:
        self.per_user, self.global_, self.window = per_user, global_, window_s
        self._user: dict[str, deque] = defaultdict(deque)
        self._all: deque = deque()
        self._lock = threading.Lock()

    def check(self, user: str, now: float | None = None) -> float:
        """0 if allowed (and counted), else seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            q = self._user[user]
            for d in (q, self._all):
                while d and now - d[0] >= self.window:
                    d.popleft()
            for d, limit in ((q, self.per_user), (self._all, self.global_)):
                if len(d) >= limit:
                    return max(1.0, self.window - (now - d[0]))
            q.append(now)
            self._all.append(now)
            return 0.0

    def forget_idle(self, now: float | None = None) -> None:
        """Drop users with no request in the window, so memory does not grow with every user ever seen."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for user in [u for u, d in self._user.items() if not d or now - d[-1] >= self.window]:
                del self._user[user]


@dataclass
class Counters:
    started: float = field(default_factory=time.time)
    day: str = ""
    answers_today: int = 0
    refusals_today: int = 0
    last_error: str | None = None

    def count(self, answer: Answer) -> None:
        today = time.strftime("%Y-%m-%d")
        if today != self.day:
            self.day, self.answers_today, self.refusals_today = today, 0, 0
        if answer.refused:
            self.refusals_today += 1
        else:
            self.answers_today += 1


class AnswerService:
    def __init__(self, pipeline: Pipeline, *, queue_size: int = 8, time_limit_s: float = 60,
                 max_question_chars: int = 1000, history_turns: int = 3, history_ttl_s: float = 1800,
                 limiter: RateLimiter | None = None, recorder: Recorder | None = None,
                 passage_lookup: Callable[[str], object] | None = None) -> None:
        self.pipeline = pipeline
        self.queue_size = queue_size
        self.time_limit_s = time_limit_s
        self.max_question_chars = max_question_chars
        self.history_turns, self.history_ttl_s = history_turns, history_ttl_s
        self.limiter = limiter
        self.recorder = recorder
        self.passage_lookup = passage_lookup
        self.counters = Counters()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="answer")
        self._pending = 0  # waiting + running
        self._history: dict[str, deque[Turn]] = {}
        self._closing = False
        self._lock = threading.Lock()

    @property
    def _limit_s(self) -> int:
        return max(1, round(self.time_limit_s))

    @property
    def queue_length(self) -> int:
        return self._pending

    def new_chat(self, asker: Asker) -> str:
        self._history.pop(asker.chat_key, None)
        return t("new_chat", asker.user_lang or "ru")

    def passage(self, passage_id: str):
        """The full passage behind a citation (for a "full passage" button), or None."""
        return self.passage_lookup(passage_id) if self.passage_lookup else None

    def feedback(self, answer_id: int, asker: Asker, value: int) -> bool:
        """Record 👍 (+1) or 👎 (-1) for an answer; False if it cannot be recorded."""
        if self.recorder is None or value not in (1, -1):
            return False
        return self.recorder.record_feedback(answer_id, asker, value)

    def _turns(self, key: str) -> list[Turn]:
        now = time.monotonic()
        turns = [x for x in self._history.get(key, ()) if now - x.at < self.history_ttl_s]
        if not turns:
            self._history.pop(key, None)  # expired chats are forgotten, not kept forever
        return turns

    def _remember(self, key: str, turn: Turn) -> None:
        if self.history_turns:
            self._history.setdefault(key, deque(maxlen=self.history_turns)).append(turn)

    def _notice(self, question: str, lang: str, reason: str, **kw) -> Answer:
        return Answer(question=question, lang=lang, refused=True, text=t(reason, lang, **kw), reason=reason)

    def precheck(self, question: str, asker: Asker) -> tuple[str, Answer | None]:
        """Clean the question; return (clean question, a refusal Answer or None)."""
        clean = ANSI_ESCAPE.sub("", question)
        clean = "".join(ch for ch in clean if ch.isprintable() or ch in "\n\t")
        clean = valid_utf8(clean).strip()
        plain = strip_markup(clean)
        lang = language(plain) if plain else (asker.user_lang if asker.user_lang in ("ru", "en") else "ru")
        if self._closing:
            return clean, self._notice(clean, lang, "shutting_down")
        if not any(ch.isalnum() for ch in clean):
            return clean, self._notice(clean, lang, "empty")
        if len(clean) > self.max_question_chars:
            return clean, self._notice(clean[:200], lang, "too_long", limit=self.max_question_chars)
        if key := small_talk(plain, chatting=bool(self._turns(asker.chat_key))):
            text = t(key, lang, help=t("help", lang))
            return clean, Answer(question=clean, lang=lang, refused=True, text=text, reason="small_talk")
        return clean, None

    async def ask(self, question: str, asker: Asker, on_partial: Callable[[str], None] | None = None) -> Answer:
        """Answer `question` for `asker`; `on_partial` gets the draft answer text on the event loop."""
        started = time.perf_counter()
        clean, notice = self.precheck(question, asker)
        if notice:
            return self._finish(asker, notice, started)
        lang = language(strip_markup(clean))
        with self._lock:
            if self._pending >= self.queue_size + 1:  # before the rate limit: "busy" costs the user nothing
                return self._finish(asker, self._notice(clean, lang, "busy"), started)
            if self.limiter and asker.limited and (wait := self.limiter.check(asker.user_id)):
                self.limiter.forget_idle()
                return self._finish(asker, self._notice(clean, lang, "rate_limited", seconds=round(wait + 0.5)),
                                    started)
            self._pending += 1
        loop = asyncio.get_running_loop()
        cancel = threading.Event()

        def partial(text: str) -> None:
            if on_partial and not cancel.is_set():
                loop.call_soon_threadsafe(on_partial, text)

        history = self._turns(asker.chat_key)
        future = loop.run_in_executor(self._executor, self._run, clean, history, partial, cancel)
        try:
            answer, passage_ids = await asyncio.wait_for(asyncio.shield(future), self.time_limit_s)
        except asyncio.TimeoutError:
            cancel.set()
            answer, passage_ids = self._notice(clean, lang, "timeout", seconds=self._limit_s), []
        except asyncio.CancelledError:
            cancel.set()
            raise
        finally:
            with self._lock:
                self._pending -= 1
        if passage_ids:
            self._remember(asker.chat_key, Turn(clean, passage_ids))
        return self._finish(asker, answer, started)

    def _run(self, question: str, history: list[Turn], partial, cancel: threading.Event):
        if cancel.is_set():  # timed out while waiting in the queue
            return self._notice(question, language(question), "timeout", seconds=self._limit_s), []
        try:
            return self.pipeline.answer(question, history, partial, cancel)
        except Exception as exc:  # never a trace in a chat: log it, answer with a clear message
            log.exception("answer pipeline failed")
            self.counters.last_error = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {type(exc).__name__}: {exc}"
            return self._notice(question, language(question), "error"), []

    def _finish(self, asker: Asker, answer: Answer, started: float) -> Answer:
        answer.timings.setdefault("total_ms", (time.perf_counter() - started) * 1000)
        self.counters.count(answer)
        if self.recorder:
            try:
                answer.answer_id = self.recorder.record_answer(asker, answer)
            except Exception:
                log.exception("could not record the answer")
        return answer

    def close(self, wait: bool = True) -> None:
        """Stop taking questions; finish the one running (or not, with wait=False)."""
        self._closing = True
        self._executor.shutdown(wait=wait, cancel_futures=True)
