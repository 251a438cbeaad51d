"""What the model sees of each retrieved passage, and what is quoted back: consecutive sentences of
the passage, verbatim, around those that share the question's words (or, once there is an answer,
the answer's words).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .corpus import Passage
from .definitions import Definition
from .retrieval import Hit
from .text import sentence_spans, stems

# An excerpt as quoted back, and as the model sees an English question's passages: the top passage,
# likeliest to hold the answer, gets more room (development set: gold lines in the excerpts for 27
# Russian questions of 35, not 25 with 330 characters each, for ~60 characters more in all).
TOP_WINDOW_CHARS = 450  # ~140 tokens
WINDOW_CHARS = 250
# The model sees a Russian question's top passage whole, up to `top_chars` (setting
# answer.top_passage_chars, 1300 characters by default, ~400 tokens; 90 % of passages are shorter):
# the sentences a reworded question's words pick miss its answer. 450 characters → whole passage, Russian
# questions: gold lines in the excerpts 30 → 33 of 41 (development set), 18 → 24 of 38 (held-out); answers
# citing them 29 → 30 and 22 → 23, their quotes on them 28 → 29 and 14 → 18; first token p50 +2.5 s on 2 cores.
# The quote is then narrowed to what the answer takes from the passage.


@dataclass
class Excerpt:
    n: int
    hit: Hit
    quote: str  # consecutive sentences of the passage (≤ TOP_WINDOW_CHARS), verbatim; quoted back
    text: str = ""  # what the model sees, when more than the quote: the sentences around it, verbatim

    @property
    def given(self) -> str:
        return self.text or self.quote


def _widen(spans: list[tuple[int, int]], best: int, taken: list[tuple[int, int]], limit: int,
           back: bool = True) -> tuple[int, int]:
    """The unit range around spans[best] (from it, if not `back`), grown one neighbour at a time up
    to `limit` characters, outside the ranges already `taken`."""
    lo = hi = best
    grown = True
    while grown:
        grown = False
        for cand in (lo - 1, hi + 1) if back else (hi + 1,):
            free = 0 <= cand < len(spans) and not any(a <= cand <= b for a, b in taken)
            if free and spans[max(hi, cand)][1] - spans[min(lo, cand)][0] <= limit:
                lo, hi, grown = min(lo, cand), max(hi, cand), True
    return lo, hi


def _by_shared_words(text: str, spans: list[tuple[int, int]], about: str) -> list[int]:
    """Indices of the units that share a word stem with `about`, most shared first (long units
    slightly penalised)."""
    wanted = set(stems(about))
    scores = [len(wanted & set(stems(text[a:b]))) / (1 + (b - a) / 2000) for a, b in spans]
    return sorted((i for i, x in enumerate(scores) if x > 0), key=lambda i: -scores[i])


def _cut(text: str, spans: list[tuple[int, int]], lo: int, hi: int, limit: int) -> str:
    """Units lo..hi of the text; of one very long unit, its start, cut at a word boundary."""
    a, b = spans[lo][0], spans[hi][1]
    if b - a > limit:
        b = a + max(text.rfind(" ", a, a + limit) - a, limit // 2)
    return text[a:b].strip()


def _narrowed(text: str, about: str, limit: int) -> str | None:
    """The unit of `text` that shares the most words with `about`, widened by its neighbours up to
    `limit` characters; None if no unit shares a word."""
    spans = sentence_spans(text)
    order = _by_shared_words(text, spans, about)
    return _cut(text, spans, *_widen(spans, order[0], [], limit), limit) if order else None


def quoted_for(excerpt: Excerpt, said: str) -> Excerpt:
    """The excerpt as quoted back with an answer: of a longer text the model saw, the sentences that
    share the most words with what the answer takes from it; else the sentences closest to the question."""
    quote = excerpt.text and _narrowed(excerpt.text, said, TOP_WINDOW_CHARS)
    return replace(excerpt, quote=quote) if quote else excerpt


def windows(question: str, passage: Passage, closeness: np.ndarray, count: int = 1, limit: int = WINDOW_CHARS,
            definition: Definition | None = None) -> list[str]:
    """Up to `count` non-overlapping excerpts of the passage, in text order: each is a sentence
    related to the question, widened by its neighbours up to `limit` characters, since the answer is
    often the sentence next to the one that shares the question's words. `closeness` is each
    sentence's cosine with the question (the index's sentence vectors), for when no sentence shares
    a word with it. The sentence of a `definition` in the passage, if given, comes first."""
    text = passage.text
    spans = sentence_spans(text)
    centres = _by_shared_words(text, spans, question)
    if not centres:  # no shared words (an English question, or a rewording): compare meanings instead
        centres = [int(np.argmax(closeness))]
    taken: list[tuple[int, int]] = []
    if definition:  # «X - это …» and what follows it; «… называется X» and the sentences around it
        at = next((i for i, (_, b) in enumerate(spans) if b > definition.start), len(spans) - 1)
        taken.append(_widen(spans, at, taken, limit, back=definition.named_after))
    for best in centres:
        if len(taken) == count:
            break
        if not any(lo <= best <= hi for lo, hi in taken):
            taken.append(_widen(spans, best, taken, limit))
    return [_cut(text, spans, lo, hi, limit) for lo, hi in sorted(taken)]
