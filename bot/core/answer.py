"""The values that flow from the answer pipeline to every front end.

Renderers (console, Telegram, Discord, JSON) only read these; they never reach back into
retrieval or the model.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

# Why an answer was refused (or not produced); front ends may word their reply by it.
REASONS = (
    "answered",  # not refused
    "no_match",  # nothing in the corpus is close to the question
    "unknown_entity",  # the question names something the corpus never mentions
    "injection",  # the question tries to change the bot's rules
    "unsupported",  # the model's answer did not survive verification, or it declined
    "empty",  # empty or unusable question
    "small_talk",  # a greeting, a thank-you or "who is the author?": what the bot does, or "you're welcome"
    "too_long",  # question over the length limit
    "rate_limited",  # this user asks too often
    "busy",  # the queue is full
    "timeout",  # the per-answer time limit passed
    "shutting_down",  # the bot is stopping and takes no new questions
    "error",  # an internal error (logged), never shown as a trace
)


@dataclass(frozen=True)
class Citation:
    n: int
    passage_id: str
    source: str
    section: str
    date: str | None
    line_start: int  # lines of the quote itself (1-based, inclusive)
    line_end: int
    quote: str  # verbatim (whitespace-collapsed) substring of the source file


@dataclass
class Answer:
    question: str
    lang: str  # "ru" | "en": the language of the question, used for every message
    refused: bool
    text: str  # the answer, or the refusal / busy / limit message
    citations: list[Citation] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    reason: str = "answered"
    suggestions: list[str] = field(default_factory=list)  # closest section titles, on refusal
    answer_id: int | None = None  # row in the bot's store, for feedback buttons

    def to_json(self) -> dict:
        """The `python -m bot ask --json` contract."""
        timings = {k: round(self.timings.get(k, 0.0), 1) for k in ("retrieve_ms", "generate_ms", "total_ms")}
        for extra in ("translate_ms", "pick_ms"):  # an English question's translation; the second-chance pick
            if extra in self.timings:
                timings[extra] = round(self.timings[extra], 1)
        return {
            "question": self.question,
            "refused": self.refused,
            "answer": self.text,
            "citations": [asdict(c) for c in self.citations],
            "timings": timings,
            "reason": self.reason,
            "lang": self.lang,
        }
