"""Mechanical checks of a model's output against the excerpts it was given.

The model is small and invents; nothing it writes reaches a user unless every check passes:
1. the output parses (NO_ANSWER, or {"answer", "citations"}), citations name given excerpts;
2. every number (in any notation: «800 000» is "800,000"), scale word (million, млрд …) and named
   term of a sentence occurs in the passage it is attributed to (of the given excerpts, the one that
   supports it best, cited or not);
3. each sentence is supported by that passage: enough of its content words occur there
   (stems; Russian) or, across languages, its embedding is close enough to the passage's;
4. each sentence is in the question's language, is not a question, and says more than the question did.
Unsupported sentences are removed; if none is left, the answer is refused.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

from .names import Vocabulary, named_terms, numbers, scales
from .prompts import NO_ANSWER
from .text import STOP_EN, is_question, language, sentences, stems

MIN_LEXICAL = 0.5  # share of a sentence's content stems found in the passage (set a priori)
# e5 cosine of an English answer sentence and the Russian excerpt it cites: measured 0.79/0.83/0.86
# (p10/p50/p90) for correct short answers, 0.75/0.78/0.79 for the same answers against other passages.
MIN_DENSE = 0.80


@dataclass
class ModelOutput:
    answer: str
    citations: list[int]
    truncated: bool = False  # cut by the token limit: complete sentences only, citations unknown


@dataclass
class Verdict:
    sentences: list[tuple[str, int]] = field(default_factory=list)  # kept (sentence, excerpt number)
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (sentence, reason)

    @property
    def ok(self) -> bool:
        return bool(self.sentences)

    @property
    def citations(self) -> list[int]:
        return sorted({n for _, n in self.sentences})


def parse_output(raw: str) -> ModelOutput | None:
    """None for NO_ANSWER or anything that is not the expected JSON."""
    raw = raw.strip()
    if not raw or raw.startswith(NO_ANSWER):
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return _salvage(raw)
    if not isinstance(data, dict) or not isinstance(data.get("answer"), str) or data["answer"].strip() == NO_ANSWER:
        return None
    cites = data.get("citations")
    if not isinstance(cites, list):
        return None
    return ModelOutput(data["answer"].strip(), [c for c in cites if isinstance(c, int)])


def _salvage(raw: str) -> ModelOutput | None:
    """Output cut off (by the token limit, or stopped once it had passed): keep the answer's complete
    sentences (all of them when only the citations were cut; the verifier then attributes each
    sentence to its excerpt)."""
    if not _JSON_ANSWER.match(raw):
        return None
    done = sentences(partial_answer(raw))
    if not answer_closed(raw):
        done = done[:-1]  # the last one was cut mid-way
    return ModelOutput(" ".join(done), [], truncated=True) if done else None


@lru_cache(maxsize=64)
def _vocabulary(texts: tuple[str, ...]) -> Vocabulary:
    """verify() runs on every streamed sentence of an answer against the same excerpts."""
    return Vocabulary(texts)


@lru_cache(maxsize=64)
def _stem_set(text: str) -> frozenset[str]:
    return frozenset(stems(text))


def _share(words: set[str], found: frozenset[str]) -> float | None:
    """Share of `words` (content stems) among `found`; None if there are none."""
    return len(words & found) / len(words) if words else None


def added_to(question: str, sentence: str) -> tuple[set[str], set[str]]:
    """The word stems and the figures of the sentence that the question lacks."""
    return set(stems(sentence)) - set(stems(question)), numbers(sentence) - numbers(question)


def _new_information(sentence: str, question: str) -> bool:
    """Does the sentence say something the question did not ("Внимание." to a question about the
    term "внимание" does not)?"""
    return any(added_to(question, sentence))


def _in_language(sentence: str, lang: str) -> bool:
    """Answers come in the question's language. Names in the other script are fine ("Turbotext.pro"
    answering a Russian question); whole phrases are not, nor an English-looking sentence without a
    single common English word (French or German output)."""
    words = re.findall(r"[^\W\d_]+", sentence)
    if sum(language(w) != lang for w in words) >= 3 and language(sentence) != lang:
        return False
    return lang != "en" or len(words) < 6 or any(w.lower() in STOP_EN for w in words)


def verify(output: ModelOutput, passages: dict[int, str], *, question: str = "", lang: str | None = None,
           similarity: Callable[[str, int], float] | None = None, min_lexical: float = MIN_LEXICAL,
           min_dense: float = MIN_DENSE) -> Verdict:
    """Check `output` against `passages` (excerpt number → full passage text). Names and numbers
    the question itself contains may be repeated; they passed the question gates already."""
    verdict = Verdict()
    cited = [n for n in dict.fromkeys(output.citations) if n in passages]
    if not cited and not output.truncated:
        verdict.dropped.append((output.answer, "cites no given excerpt"))
        return verdict
    # The small model often cites the neighbouring number: a sentence is checked against every given
    # excerpt and attributed to the one that supports it best, the cited ones winning ties.
    order = cited + [n for n in passages if n not in cited]
    vocab = {n: _vocabulary((passages[n],)) for n in order}
    # The question's own numbers may be repeated, if the excerpts have them too. Its names may not:
    # the excerpt an answer is credited to must know them, or the answer is about something else
    # ("Toyota Research Institute needs 6,209 demonstrations", from another project's excerpt).
    figures = {n: numbers(x) for n, x in passages.items()}
    asked_numbers = numbers(question) & set().union(*figures.values())
    asked_stems = set(stems(question))
    for sentence in sentences(output.answer):
        if not any(ch.isalnum() for ch in sentence):
            continue
        if lang and not _in_language(sentence, lang):
            verdict.dropped.append((sentence, "not in the question's language"))
            continue
        if is_question(sentence):
            verdict.dropped.append((sentence, "is a question, not an answer"))
            continue
        if question and not _new_information(sentence, question):
            verdict.dropped.append((sentence, "only repeats the question"))
            continue
        own = set(stems(sentence))
        said_numbers = numbers(sentence)
        supported, reason = [], "not supported by a given excerpt"  # ((ranking key), excerpt number)
        for n in order:
            # The scale first: "314 million" for «314 млрд» is a wrong scale, not a wrong number.
            wrong_scale = scales(sentence) - scales(passages[n])
            if wrong_scale:
                reason = f"'{sorted(wrong_scale)[0]}' is not the excerpt's scale"
                continue
            nums = said_numbers - figures[n] - asked_numbers
            if nums:
                reason = f"number {sorted(nums)[0]} is not in the excerpt"
                continue
            missing = [x for x in named_terms(sentence) if not vocab[n].knows(x)]
            if missing:
                reason = f"'{missing[0]}' is not in the excerpt"
                continue
            found = _stem_set(passages[n])
            lexical = _share(own, found)
            if lexical is None and (said_numbers or named_terms(sentence)):
                support = 1.0  # a bare figure or name ("29 лет", "Kandinsky 2.1"), found above
            elif lexical is not None and lexical >= min_lexical and (lexical == 1.0 or len(own & found) >= 2):
                # Half of a two-word sentence is one invented word («Они возникают от усталости.»):
                # a sentence needs two of its words found, or all of them.
                support = lexical
            elif similarity and language(sentence) != language(passages[n]) and \
                    (close := similarity(sentence, n)) >= min_dense:
                support = close
            else:
                continue
            # Ranked by the share of what the sentence adds to the question that the excerpt holds
            # (across languages: names, Latin terms), then of all its words, then by support.
            supported.append(((_share(own - asked_stems, found) or 0.0, lexical or 0.0, support), n))
        # The excerpt that supports it best; the cited one on a tie (max keeps the first maximum).
        best = max(supported, key=lambda x: x[0])[1] if supported else None
        if best is None:
            verdict.dropped.append((sentence, reason))
        else:
            verdict.sentences.append((sentence, best))
    return verdict


_JSON_ANSWER = re.compile(r'^\{"answer": "((?:[^"\\]|\\.)*)')


def answer_closed(raw: str) -> bool:
    """Has a (partial) JSON output's answer text ended, so that only its citations are left to write?"""
    m = _JSON_ANSWER.match(raw)
    return bool(m) and raw[m.end():].startswith('"')


def partial_answer(raw: str) -> str:
    """The answer text streamed so far, from a partial JSON output (for live display)."""
    m = _JSON_ANSWER.match(raw)
    if not m or NO_ANSWER.startswith(m.group(1)):  # never flash the refusal sentinel at a user
        return ""
    try:
        return json.loads(f'"{m.group(1).rstrip(chr(92))}"')
    except ValueError:
        return m.group(1)
