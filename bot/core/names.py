"""Named terms (models, companies, people …) and whether the corpus ever mentions them.

Used twice: before generation (a question naming something the corpus never mentions is refused)
and after it (every named term and number in an answer must occur in a cited passage).
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Iterable

from .text import STOP_EN, STOP_RU, has_cyrillic, stem

TOKEN = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*")
# Not part of a word like "T9" or "3D"; "175B", "8K" are figures with a scale letter.
NUMBER = re.compile(r"(?<![^\W\d_])\d+(?:[.,]\d+)?(?=[KMBT]?(?![^\W_]))")
_LATIN = re.compile(r"[a-z]", re.I)
_TRANSLIT = [("shch", "щ"), ("sch", "щ"), ("ch", "ч"), ("sh", "ш"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"),
             ("ya", "я"), ("yu", "ю"), ("yo", "ё"), ("ph", "ф"), ("th", "т"), ("w", "в"), ("x", "кс"),
             ("a", "а"), ("b", "б"), ("c", "к"), ("d", "д"), ("e", "е"), ("f", "ф"), ("g", "г"), ("h", "х"),
             ("i", "и"), ("j", "дж"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"),
             ("q", "к"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("v", "в"), ("y", "й"), ("z", "з")]
# Capitalised English words that are not names in a question about this material; month names,
# since "November 2023" is a date, not a versioned name (the text writes its dates in Russian).
_COMMON_EN = frozenset("""what who whom whose which why how when where does did do is are was were can could would
should will tell explain describe give list name according compare summarize summarise please i ai llm llms gpt
english russian text author article section january february march april may june july august september
october november december""".split())
# "late-1990s", "mid-2023": a date, not a versioned name.
_DATE = re.compile(r"^(?:early|mid|late|pre|post)-\d{2,4}s?$", re.I)


def _skeleton(word: str) -> str:
    """Soft and hard signs have no Latin counterpart: 'вольфрам' and 'wolfram' → 'волфрам'."""
    return word.replace("ь", "").replace("ъ", "")


_VOWELS = frozenset("аеёиоуыэюяйьъ")
# Shorter consonant keys match too many words by chance ("мдл" is «модель» and "middle").
MIN_CONSONANTS = 5


def _consonants(cyrillic: str) -> str:
    """English vowels have no fixed Russian spelling ('jailbreak' → «джейлбрейк», not «джаилбреак»)."""
    return "".join(ch for ch in cyrillic if ch not in _VOWELS)


class Spellings:
    """A word as the text writes it in the other alphabet: a Latin spelling of a Cyrillic word ('Krylov'
    → «Крылов», 'Dursley' → «Дурсль»; 'y' is ambiguous) or a Cyrillic one of a Latin word («джейлбрейк»
    → "jailbreak", by consonants). Only text words of at least `min_letters` letters are found."""

    def __init__(self, stems: Iterable[str], min_letters: int = 0) -> None:
        self._known = frozenset(stems)
        self._min_letters = min_letters
        self._cyrillic: dict[str, str] = {}
        self._latin: dict[str, str] = {}
        for s in self._known:
            if has_cyrillic(s):
                self._cyrillic.setdefault(_skeleton(s), s)
            elif s.isalpha() and len(key := _consonants(translit(s))) >= MIN_CONSONANTS:
                self._latin.setdefault(key, s)

    def find(self, word: str) -> str | None:
        """The text's stem the word spells in the other alphabet, if any."""
        if has_cyrillic(word):
            key = _consonants(stem(word))
            found = self._latin.get(key) if len(key) >= MIN_CONSONANTS else None
        else:
            base = translit(word)
            found = next((self._cyrillic[k] for y in ("й", "ы", "и")
                          if (k := _skeleton(stem(base.replace("й", y)))) in self._cyrillic), None)
        return found if found and len(found) >= self._min_letters else None

    def as_written(self, term: str) -> str:
        """The text's stem for a stem: itself if the text has it, else the one it spells, else itself."""
        return term if term in self._known else self.find(term) or term


def translit(word: str) -> str:
    out, i = [], 0
    w = word.lower()
    while i < len(w):
        for lat, cyr in _TRANSLIT:
            if w.startswith(lat, i):
                out.append(cyr)
                i += len(lat)
                break
        else:
            out.append(w[i])
            i += 1
    return "".join(out)


class Vocabulary:
    """Every token of the corpus, lower-cased, plus stems, for 'does the text mention X?'."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.tokens: set[str] = set()
        lowered = []
        for text in texts:
            low = text.lower().replace("ё", "е")
            lowered.append(" ".join(TOKEN.findall(low)))
            self.tokens.update(TOKEN.findall(low))
        self.text = "\n".join(lowered)  # for versioned names of several words ("mistral large 2")
        self.parts = {p for tok in self.tokens for p in re.split(r"[-.]", tok) if p}
        self.stems = {stem(p) for p in self.parts if not p.isdigit()}
        self.spellings = Spellings(self.stems)

    def knows(self, term: str) -> bool:
        term = term.lower().replace("ё", "е")
        if " " in term:
            return f" {term} " in f" {self.text} ".replace("\n", " ")
        if term in self.tokens:
            return True
        parts = [p for p in re.split(r"[-.]", term) if p]
        if any(ch.isdigit() for ch in term):
            # "GPT-5", "Phi-3", "R1": a version must occur as such; "T9-to-ChatGPT" is known words
            return len(parts) > 1 and all(self._known_part(p) for p in parts)
        return all(self._known_part(p) for p in parts)

    def _known_part(self, part: str) -> bool:
        if any(ch.isdigit() for ch in part):  # a version number alone ("5" of "GPT-5") is not enough
            return part in self.tokens and not part.isdigit()
        return (part in self.parts or part in STOP_EN or stem(part) in self.stems
                or self.spellings.find(part) is not None)


def named_terms(text: str) -> list[str]:
    """Tokens that look like names of models, companies, people.

    In Cyrillic text: Latin words, and capitalised words that do not start a sentence. In English
    text capitals are everywhere ("What does the Author…"), so only CamelCase ("DeepSeek"),
    letters with digits ("GPT-5", "R1") and acronyms ("RLHF") count. Tokens that start with a digit
    ("3-grams", "4-bit", "2.0") are quantities, checked as numbers elsewhere; "late-1990s" is a date."""
    # An English answer sentence that quotes Russian words is judged as Russian text, so its ordinary words
    # count as names and fail. Measured: judging it as English let mixed answers through ("Pavел Komarovsky",
    # "… is not 'monetization' but 'завоевание доверия'") and no more right ones.
    cyrillic_text = has_cyrillic(text)
    out = []
    for m in TOKEN.finditer(text):
        tok = m.group(0)
        low = tok.lower()
        if (low in STOP_RU or low in STOP_EN or low in _COMMON_EN or len(tok) < 2 or tok[0].isdigit()
                or _DATE.match(tok)):
            continue
        camel = any(c.isupper() for c in tok[1:]) and any(c.islower() for c in tok)
        has_digit = any(c.isdigit() for c in tok)
        if camel or has_digit:
            out.append(tok)
        elif cyrillic_text:
            before = text[: m.start()].rstrip()
            sentence_start = not before or before[-1] in ".!?:;\"'«(“"
            if _LATIN.search(tok) or (tok[0].isupper() and not sentence_start):
                out.append(tok)
        elif tok.isupper() and _LATIN.search(tok):  # an acronym in English text
            out.append(tok)
    return out


# A capitalised name followed by a version: "Mistral Large 2", "Gemini 2.0", "Llama 3".
VERSIONED = re.compile(r"\b[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*\s+\d+(?:\.\d+)?\b")


def versioned_names(text: str) -> list[str]:
    return [" ".join(TOKEN.findall(m.group(0))) for m in VERSIONED.finditer(text)
            if m.group(0).split()[0].lower() not in STOP_EN | _COMMON_EN]


def unknown_terms(text: str, vocab: Vocabulary) -> list[str]:
    seen, out = set(), []
    for term in named_terms(text) + versioned_names(text):
        if term.lower() not in seen and not vocab.knows(term):
            seen.add(term.lower())
            out.append(term)
    return out


# Scale words of a figure, in either language: "314 million" for the text's "314 млрд" is wrong
# even though the number itself matches (the small model confuses млрд with million).
_SCALES = {
    "thousand": re.compile(r"(?<!\w)(?:тыс\w*|thousands?)(?!\w)", re.I),
    "million": re.compile(r"(?<!\w)(?:млн|миллион\w*|millions?)(?!\w)", re.I),
    "billion": re.compile(r"(?<!\w)(?:млрд|миллиард\w*|billions?)(?!\w)", re.I),
    "trillion": re.compile(r"(?<!\w)(?:трлн|триллион\w*|trillions?)(?!\w)", re.I),
}
_FACTORS = {"thousand": 10 ** 3, "million": 10 ** 6, "billion": 10 ** 9, "trillion": 10 ** 12}
# Digit groups: the text writes "800 000" (ordinary, no-break or thin spaces) and "6,209"; an English
# answer writes "800,000". A comma before anything but exactly three digits is a decimal one ("29,1").
_GROUPED = re.compile(r"(?<![\w.,-])\d{1,3}(?:[ \u00a0\u202f,]\d{3})+(?!\w|[.,]\d)")


def numbers(text: str) -> set[str]:
    """The figures of a text, in one notation: digit groups joined ("800 000", "800,000" → "800000"),
    decimal commas as points; a figure with a scale word also by its value ("139 тыс." → "139000",
    which an answer may write as "139,000")."""
    text = _GROUPED.sub(lambda m: re.sub(r"\D", "", m.group(0)), text)
    out = set()
    for m in NUMBER.finditer(text):
        value = m.group(0).replace(",", ".")
        out.add(value)
        after = text[m.end():m.end() + 12].lstrip()
        for name, pattern in _SCALES.items():
            if pattern.match(after):
                out.add(format((Decimal(value) * _FACTORS[name]).normalize(), "f"))
    return out


def scales(text: str) -> set[str]:
    return {name for name, pattern in _SCALES.items() if pattern.search(text)}


# Quantities written out in words: "группой из семи ученых, трое из которых …". Not "one", which is
# mostly "one of" («лишь один из этапов»).
_NUMBER_WORDS = re.compile(
    r"(?<!\w)(?:дв[ае]|двух|двое|тр[иое]|тр[её]х|четыр\w*|четверо|пят[ьи]|шест[ьи]|сем[ьи]|"
    r"восьм?[иь]|восемь|девят[ьи]|десят\w*|сотн\w*|сотен|сто|нескольк\w*|дюжин\w*|полтор\w*|two|three|four|five|"
    r"six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|several)(?!\w)", re.I)
_VERSIONED_TOKEN = re.compile(r"^\W*[^\W\d_]+[-.]?\d")  # "Phi-2", "GPT-4o", "Llama3": a name, not a figure


def has_figure(text: str) -> bool:
    """A number, a scale word or a number word; not the version in a name ("Phi-2") nor anything in
    a link ("github.com/xai-org/grok-1")."""
    words = " ".join(w for w in text.split() if "/" not in w and not _VERSIONED_TOKEN.match(w))
    return bool(numbers(words) or scales(words) or _NUMBER_WORDS.search(words))
