"""How much of a question a passage covers, with rare words weighing more (IDF over the corpus).

Measured on the development set (Russian questions): off-topic and injection questions reached at
most 0.22 of IDF-weighted coverage in their best passage, answerable ones mostly 0.3-0.9. An
English question's words cannot match the Russian text: it is measured through its translation.
"""
from __future__ import annotations

import math
from collections import Counter

from .corpus import Passage
from .text import stem, stems


class TermWeights:
    def __init__(self, passages: list[Passage]) -> None:
        self.stems = [frozenset(stems(f"{p.section} {p.text}")) for p in passages]
        self.df = Counter(s for terms in self.stems for s in terms)
        self.n = len(passages)

    def idf(self, term: str) -> float:
        return math.log((self.n + 1) / (self.df.get(term, 0) + 0.5))

    def uses(self, word: str) -> bool:
        """Does any passage have the word (by its stem)?"""
        return stem(word) in self.df

    def coverage(self, question: str, position: int) -> float:
        """IDF-weighted share of the question's content stems that occur in passage `position`."""
        wanted = set(stems(question))
        total = sum(self.idf(t) for t in wanted)
        if not total:
            return 0.0
        return sum(self.idf(t) for t in wanted & self.stems[position]) / total
