"""Text helpers shared by parsing, indexing, retrieval and verification.

`collapse` defines what "verbatim" means everywhere: runs of whitespace (NBSP included) become
one space. A quote is verbatim when it is a substring of the collapsed source file.
"""
from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

_WS = re.compile(r"\s+")  # Python's \s matches U+00A0 too
WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")
_CYR = re.compile(r"[а-яё]", re.I)
_LAT = re.compile(r"[a-z]", re.I)
_SENT_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'<(«]?[A-ZА-ЯЁ0-9])")

# Snowball's stop lists, trimmed to what matters for questions about a text; the Russian one with the
# pronoun forms it lacks ("Я полностью с Вами согласен" says nothing a question about agreeing did not).
STOP_RU = frozenset("""
и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было
вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас
нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их
чем была сам чтоб без будто чего раз тоже себе под будет ж тогда кто этот того потому этого какой
совсем ним здесь этом один почти мой тем чтобы нее сейчас были куда зачем всех никогда можно при
наконец два об другой хоть после над больше тот через эти нас про всего них какая много разве три
эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя такой им более всегда конечно
всю между это эта эти каких какие какое каким какую такие также почему зачем ли либо её чём кого
кому какого каком которые который которая которое которых есть ещё весь вся всё сказать говорит
говорится думает считает пишет автор автора автору автором текст тексте материале материал
мной тебе тобой ею ими нам нами вами собой свой своя своё свои
""".split())
STOP_EN = frozenset("""
a an the and or but if then else of to in on at by for with about against between into through
during before after above below from up down out off over under again further once here there when
where why how all any both each few more most other some such no nor not only own same so than too
very can will just should now is are was were be been being have has had having do does did doing
i me my we our you your he him his she her it its they them their what which who whom this that
these those am would could tell say says said think thinks author text does doesn't according
""".split())

_STEMMERS = {"ru": Stemmer.Stemmer("russian"), "en": Stemmer.Stemmer("english")}


_MARKUP = re.compile(r"<[^<>\n]{1,200}>|\]\([^)\s]{1,500}\)|`{1,3}|\*{1,3}|_{2,}")


def valid_utf8(text: str) -> str:
    """`text` with what cannot be UTF-8 (lone surrogates: argv's undecodable bytes, a chat client's
    broken emoji) as '?', everything else as it is; SQLite and the embedder reject surrogates."""
    return text.encode("utf-8", "replace").decode("utf-8")


def strip_markup(text: str) -> str:
    """The words of a question without HTML tags, markdown link targets and emphasis marks."""
    return collapse(_MARKUP.sub(" ", text))


def collapse(text: str) -> str:
    """Collapse every whitespace run (NBSP included) to one space and strip the ends."""
    return _WS.sub(" ", text).strip()


def is_blank(line: str) -> bool:
    return not line.strip()  # str.strip() removes NBSP as well


def words(text: str) -> list[str]:
    return WORD.findall(text.lower().replace("ё", "е"))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _STEMMERS["ru" if _CYR.search(word) else "en"].stemWord(word)


def content_words(text: str) -> list[str]:
    """Lower-cased words without stop words or one-letter tokens."""
    return [w for w in words(text) if len(w) > 1 and w not in STOP_RU and w not in STOP_EN]


def stems(text: str) -> list[str]:
    return [stem(w) for w in content_words(text)]


def has_cyrillic(text: str) -> bool:
    return bool(_CYR.search(text))


def mixed_script(word: str) -> bool:
    return bool(_CYR.search(word) and _LAT.search(word))


def language(text: str) -> str:
    """'ru' when at least as many words are Cyrillic as Latin, else 'en'. Words, not letters: "Что
    означает in-context learning?" is a Russian question with a long English term."""
    tokens = WORD.findall(text)
    cyr = sum(1 for w in tokens if _CYR.search(w))
    lat = sum(1 for w in tokens if _LAT.search(w) and not _CYR.search(w))
    return "ru" if cyr >= lat else "en"


def sentences(text: str) -> list[str]:
    """Split collapsed text into sentences; every piece is a substring of the input."""
    out, start = [], 0
    for m in _SENT_END.finditer(text):
        piece = text[start:m.start()].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


_LINE_MARK = re.compile(r"(?<=\s)(?:\\{3}|/{4,})(?=\s)")  # quoted (\\\) and comment (////) line prefixes
UNIT_CHARS = 165  # a longer sentence is split at line marks


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the sentences of `text` that have a word or a figure (the whole text if none
    has). A sentence longer than UNIT_CHARS is split further before each line marker, since quoted
    articles prefix their lines with a backslash triple instead of ending sentences (one "sentence"
    can fill a whole passage). These are the units excerpts are cut from and sentence vectors embed."""
    spans, cursor = [], 0
    for sent in sentences(text):
        begin = text.find(sent, cursor)
        end = cursor = begin + len(sent)
        cuts = [m.start() for m in _LINE_MARK.finditer(text, begin + 1, end)] if end - begin > UNIT_CHARS else []
        spans.extend(zip([begin] + cuts, cuts + [end]))
    return [sp for sp in spans if any(ch.isalnum() for ch in text[sp[0]:sp[1]])] or [(0, len(text))]


def is_question(sentence: str) -> bool:
    """A sentence that asks (an echo of the question, or the text's rhetorical question) answers nothing."""
    return sentence.rstrip(" \"'»)").endswith("?")
