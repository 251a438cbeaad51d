"""How much of a question a passage covers, with rare words weighing more (IDF over the corpus).

Measured on the development set (Russian questions): off-topic and injection questions reached at
most 0.22 of IDF-weighted coverage in their best passage, answerable ones mostly 0.3-0.9. An
English question's words cannot match the Russian text: it is measured through its translation.
A translation keeps names in Latin letters ("Mr. Dursley") that the text writes in Cyrillic («мистер
Дурсль»), a Russian question spells in Cyrillic terms the text keeps in English («джейлбрейк» for
"Jailbreak"): such a word counts as the text's word it spells (names.Spellings), if that word has
five letters or more.
"""
from __future__ import annotations

import math
from collections import Counter

from .corpus import Passage
from .names import Spellings
from .text import stem, stems


# A short word's spelling in the other alphabet is a different word as often as not ("side" → «сид»,
# "tips" → «тип»); longer ones are names and cognates ("Dursley" → «Дурсль», "regression" → «регресс»).
MIN_SPELT = 5


class TermWeights:
    def __init__(self, passages: list[Passage]) -> None:
        self.stems = [frozenset(stems(f"{p.section} {p.text}")) for p in passages]
        self.df = Counter(s for terms in self.stems for s in terms)
        self.n = len(passages)
        self._spellings = Spellings(self.df, min_letters=MIN_SPELT)

    def spelled(self, text: str) -> list[str]:
        """The text's stems for the words of `text` it writes only in the other alphabet."""
        return [w for t in stems(text) if (w := self._spellings.as_written(t)) != t]

    def idf(self, term: str) -> float:
        return math.log((self.n + 1) / (self.df.get(term, 0) + 0.5))

    def uses(self, word: str) -> bool:
        """Does any passage have the word (by its stem)?"""
        return self._spellings.as_written(stem(word)) in self.df

    def coverage(self, question: str, position: int) -> float:
        """IDF-weighted share of the question's content stems that occur in passage `position`."""
        wanted = {self._spellings.as_written(t) for t in stems(question)}
        total = sum(self.idf(t) for t in wanted)
        if not total:
            return 0.0
        return sum(self.idf(t) for t in wanted & self.stems[position]) / total
