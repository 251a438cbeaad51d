"""Definitional questions ("Что такое X?", "What is X?") and the text's own definitions of X.

Users ask "what is X" first, and retrieval answers it badly: the passages that mention X most
(a whole section about it) are rarely the one sentence that says what X is («Галлюцинации - это
<выдумки> модели …»). The text defines its terms in the form «X - это …», «X означает …» or
«X представляет собой …», or explains something and then names it («… - этот процесс называется
квантованием»), so those sentences are found once, when the pipeline starts, and a definitional
question gets the best one first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .corpus import Passage
from .names import Spellings
from .text import stems

# The term of a definitional question, asked in Russian (an English question's translation).
_QUESTION = re.compile(
    r"\b(?:что\s+(?:же\s+)?(?:такое|значит|означает)|кто\s+(?:такой|такая|такие)"
    r"|что\s+(?:[\w-]+\s+){0,3}?(?:называ\w+|(?:понима|подразумева)\w+\s+под))\s+(?P<term>[^?!.]+)", re.I)
# The term of an English definitional question ("What is zero-shot prompting?", "What does 'alignment' mean?").
_QUESTION_EN = re.compile(
    r"\bwhat\s+(?:is|are|does|do)\s+(?:an?\s+|the\s+)?(?P<term>[^?!.]+?)(?:\s+mean)?\s*[?!.]*$", re.I)
# A longer X is not a term: "что такое X" asks something else, «X - это …» is a sentence whose
# subject is a clause ("А LLM в ходе рассуждений должна писать десятки тысяч слов - это ходы …").
MAX_TERM_WORDS = 5
# "что означает слово «агент»", "термин RAG": the term is what is quoted, else what follows these.
_QUOTED = re.compile(r"[\"«'<“]([^\"»'>”]{2,60})[\"»'>”]")
_GENERIC = re.compile(r"^\s*(?:слов\w*|термин\w*|понят\w*|выражени\w*|аббревиатур\w*|сокращени\w*)\s+", re.I)
# «X - это …», «X означает, что …», «X представляет собой …»: the subject X runs back to the start of
# its sentence, a line mark, a bracket or a quote, and may be followed by its expansion in brackets
# («RAG (Retrieval Augmented Generation) - это …»); the definition after it has at least three words
# ("это хорошо" defines nothing).
_DEFINITION = re.compile(
    r"(?:^|(?<=[.!?:;])\s+|\\{3}\s+|/{4,}\s+|[\"«<()]\s*)"
    r"(?P<subject>[^.!?:;\"«<>()\\/]{2,60}?)(?:\s*\([^()]{1,80}\))?\s+(?:[-—–]\s+это|означает,?|представляет\s+собой)"
    r"\s+(?P<rest>[^.!?]+)")
# «… - этот процесс называется квантованием», «Такой приём называется <цепочка рассуждений>»: the
# name X follows «называется / называют» up to a punctuation mark, the explanation comes before it.
_NAMING = re.compile(
    r"\bназыва(?:ется|ются|ют|ли|лся|лась|лось)\s+"
    r"(?P<subject>[^.!?:;,()\"«»<>\\/]{2,60}?|[\"«<][^\"«»<>]{2,60}[\"»>])\s*(?=[.!?:;,()]|\s[-—–]\s|$)")
# Words after these qualify X ("галлюцинации у языковых моделей", "Jailbreak в llm"): the term is what precedes them.
_QUALIFIER = re.compile(r",|\s(?:в|во|на|у|для|по|при|о|об|из|от|с|со|of|in|for|on|with|at|by)\s", re.I)


@dataclass(frozen=True)
class Definition:
    position: int  # of the passage in the index
    start: int  # character offset in the passage text of X («X - это …») or of «называется» («… называется X»)
    subject: frozenset[str]  # stems of X
    named_after: bool = False  # «… называется X»: the explanation is around `start`, not after it


def _head(phrase: str) -> list[str]:
    """The stems of a noun phrase without its qualifiers, head word first."""
    return stems(_QUALIFIER.split(f" {phrase} ")[0])


def _term(question: str, pattern: re.Pattern) -> str:
    m = pattern.search(question)
    if not m or len(m.group("term").split()) > MAX_TERM_WORDS:
        return ""
    quoted = _QUOTED.search(m.group("term"))
    return (quoted.group(1) if quoted else _GENERIC.sub("", m.group("term"))).strip()


def asked_term(question: str) -> str:
    """X of "что такое X?" ("" when the question is not definitional)."""
    return _term(question, _QUESTION)


def asked_term_en(question: str) -> str:
    """X of "What is X?" ("" when the question is not definitional)."""
    return _term(question, _QUESTION_EN)


class Definitions:
    """Every «X - это …», «X означает …», «X представляет собой …» and «… называется X» sentence of the
    indexed passages."""

    def __init__(self, passages: list[Passage]) -> None:
        self.found: list[Definition] = []
        for pos, p in enumerate(passages):
            for m in _DEFINITION.finditer(p.text):
                if len(m.group("rest").split()) >= 3:
                    self._add(pos, m.start("subject"), m.group("subject").split(",")[-1])
            for m in _NAMING.finditer(p.text):
                self._add(pos, m.start(), m.group("subject").strip("\"«»<>"), named_after=True)
        self._spellings = Spellings(s for d in self.found for s in d.subject)

    def _add(self, position: int, start: int, named: str, named_after: bool = False) -> None:
        subject = frozenset(_head(named))
        if subject and len(named.split()) <= MAX_TERM_WORDS:
            self.found.append(Definition(position, start, subject, named_after))

    def best(self, term: str, relevance: Callable[[int], float]) -> Definition | None:
        """The closest definition of the term: its subject names the term's head word and nothing
        but the term's words ("Галлюцинация" defines "галлюцинации LLM"; "Языковая модель" does not
        define "джейлбрейк языковой модели", nor "LLM Агент" "LLM"). Of equally close ones (Jaccard
        of stems), one that starts with X («X - это …», «X означает …») and so says it all in one
        place, then the one whose passage is most relevant to the question."""
        # «джейлбрейк» asks about the text's "Jailbreak"
        head = [self._spellings.as_written(h) for h in _head(term)]
        wanted = frozenset(head)
        scored = [(len(d.subject) / len(wanted), not d.named_after, relevance(d.position), d) for d in self.found
                  if head and head[0] in d.subject and d.subject <= wanted]
        return max(scored, key=lambda x: x[:3])[3] if scored else None
