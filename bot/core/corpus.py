"""Corpus parsing: documents → sections → passages with exact 1-based line ranges.

Two layouts are understood:
- the Samizdat compilation (`gpt-models.txt`): sections anchored on the line `В оглавление.`
  (title above it, optional `DD.MM.YYYY HH:MM` date above the title, a `=====` separator above
  that), part headers with sub-TOCs between sections, site junk and a TOC outside sections;
- any other `.txt`/`.md` file: sections start at Markdown headings (`# …`), or the whole file is
  one section titled by its first line; paragraphs are runs of non-blank lines.

A passage's `text` is the collapsed text of its source lines, so it is a verbatim substring of the
collapsed source file by construction; `SourceText.locate` checks any quote against the file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .text import collapse, is_blank

SUFFIXES = (".txt", ".md")
RE_MARK = re.compile(r"^[ \u00a0\t]*В оглавление\.[ \u00a0\t]*$")
RE_DATE = re.compile(r"^[ \u00a0\t]*(\d{2})\.(\d{2})\.(\d{4})[ \u00a0\t]+(\d{1,2}:\d{2})[ \u00a0\t]*$")
RE_SEP = re.compile(r"^[ \u00a0\t]*={5,}[ \u00a0\t]*$")
RE_PART = re.compile(r"^[ \u00a0\t]*(Часть \d+\..*|Информация к размышлению.*)$")
RE_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
RE_URL_LINE = re.compile(r"^\s*https?://\S+\s*$")
RE_BYLINE = re.compile(r"^\s*Автор(?: оригинала)?:")  # bibliographic header of a quoted article
FIRST_PART = "Часть 1."


class CorpusError(Exception):
    """A corpus file or folder cannot be used; the message names it."""


@dataclass(frozen=True)
class Section:
    source: str
    number: int
    title: str
    date: str | None  # ISO "YYYY-MM-DD HH:MM", own or inherited
    part: str | None
    title_line: int
    body_start: int  # first body line (1-based)
    body_end: int  # last body line (1-based, inclusive)


@dataclass(frozen=True)
class Passage:
    id: str
    source: str
    section_no: int
    section: str
    date: str | None
    part: str | None
    line_start: int
    line_end: int
    voice: str  # "author" | "quote" | "mixed"
    text: str  # collapsed source text of lines line_start..line_end


@dataclass
class SourceText:
    """A source file's lines plus its collapsed text, for verbatim checks and line lookup."""

    name: str
    lines: list[str]
    collapsed: str = field(init=False)
    _offsets: list[int] = field(init=False, repr=False)  # collapsed offset where each line starts

    def __post_init__(self) -> None:
        parts, offsets, pos = [], [], 0
        for line in self.lines:
            piece = collapse(line)
            offsets.append(pos)
            if piece:
                parts.append(piece)
                pos += len(piece) + 1
        self.collapsed = " ".join(parts)
        self._offsets = offsets

    def locate(self, quote: str, near_line: int = 1) -> tuple[int, int] | None:
        """1-based (first, last) line of `quote` in the collapsed file, preferring the occurrence
        at or after `near_line`; None when the quote is not verbatim."""
        quote = collapse(quote)
        if not quote:
            return None
        start_at = self._offsets[max(0, min(near_line, len(self.lines)) - 1)]
        pos = self.collapsed.find(quote, start_at)
        if pos < 0:
            pos = self.collapsed.find(quote)
        if pos < 0:
            return None
        return self._line_at(pos), self._line_at(pos + len(quote) - 1)

    def _line_at(self, offset: int) -> int:
        lo, hi = 0, len(self._offsets) - 1
        while lo < hi:  # last line whose start offset <= offset
            mid = (lo + hi + 1) // 2
            if self._offsets[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        while lo > 0 and is_blank(self.lines[lo]):  # blank lines share the next line's offset
            lo -= 1
        return lo + 1


def read_lines(path: Path) -> list[str]:
    """Decode a corpus file strictly; a binary or non-UTF-8 file is a CorpusError naming it."""
    data = path.read_bytes()
    if b"\x00" in data[:65536]:
        raise CorpusError(f"{path}: binary file (NUL bytes); only UTF-8 .txt/.md files can be indexed")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CorpusError(f"{path}: not UTF-8 (invalid byte at line {line}); save it as UTF-8") from None
    return [line.removesuffix("\r") for line in text.split("\n")]


def corpus_files(corpus_dir: Path) -> list[Path]:
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder {corpus_dir} does not exist")
    files = sorted(p for p in corpus_dir.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not files:
        raise CorpusError(f"corpus folder {corpus_dir} has no .txt or .md files")
    return files


# --- sections ------------------------------------------------------------------------------

def _prev_nonblank(lines: list[str], i: int) -> int | None:
    i -= 1
    while i >= 0 and is_blank(lines[i]):
        i -= 1
    return i if i >= 0 else None


def _iso_date(m: re.Match) -> str:
    day, month, year, hm = m.groups()
    h, mi = hm.split(":")
    return f"{year}-{month}-{day} {int(h):02d}:{mi}"


def _samizdat_sections(name: str, lines: list[str]) -> list[Section]:
    marks = [i for i, line in enumerate(lines) if RE_MARK.match(line)]
    heads = []  # (start index of the section block, title index, date)
    for m in marks:
        t = _prev_nonblank(lines, m)
        if t is None:
            continue
        start, date = t, None
        d = _prev_nonblank(lines, t)
        if d is not None and (dm := RE_DATE.match(lines[d])):
            start, date = d, _iso_date(dm)
        s = _prev_nonblank(lines, start)
        if s is not None and RE_SEP.match(lines[s]):
            start = s
        heads.append((start, t, m, date))
    # Part headers: a part line with a separator above it (a date line may sit in between).
    parts = {}
    for i, line in enumerate(lines):
        if heads and i > heads[0][0] and RE_PART.match(line):
            s = _prev_nonblank(lines, i)
            if s is not None and RE_DATE.match(lines[s]):
                s = _prev_nonblank(lines, s)
            if s is not None and RE_SEP.match(lines[s]):
                parts[s] = collapse(line)
    # The trailer (illustrations, counters, ads) starts at the last separator after the last mark.
    end_of_body = len(lines)
    if heads:
        tail_seps = [i for i in range(heads[-1][2] + 1, len(lines)) if RE_SEP.match(lines[i])]
        if tail_seps:
            end_of_body = tail_seps[-1]
    sections, date = [], None
    for k, (start, t, m, own_date) in enumerate(heads):
        stop = heads[k + 1][0] if k + 1 < len(heads) else end_of_body
        body_end = min([p for p in parts if start < p < stop], default=stop)
        while body_end > m + 1 and is_blank(lines[body_end - 1]):
            body_end -= 1
        opened = [p for p in parts if p < start]
        part = parts[max(opened)] if opened else FIRST_PART
        date = own_date or date
        sections.append(Section(name, k + 1, collapse(lines[t]), date, part, t + 1, m + 2, body_end))
    return sections


def _plain_sections(name: str, lines: list[str], markdown: bool) -> list[Section]:
    heads = [i for i, line in enumerate(lines) if markdown and RE_MD_HEADING.match(line)]
    if not heads or any(not is_blank(line) for line in lines[: heads[0]]):
        first = next((i for i, line in enumerate(lines) if not is_blank(line)), None)
        if first is None:
            return []
        heads = [first] + heads if not heads or heads[0] != first else heads
    sections = []
    for k, h in enumerate(heads):
        stop = heads[k + 1] if k + 1 < len(heads) else len(lines)
        md = RE_MD_HEADING.match(lines[h]) if markdown else None
        title = collapse(md.group(1)) if md else Path(name).stem
        body_start = h + 1 if md else h
        sections.append(Section(name, k + 1, title, None, None, h + 1, body_start + 1, stop))
    return sections


def parse_sections(name: str, lines: list[str]) -> list[Section]:
    if any(RE_MARK.match(line) for line in lines):
        return _samizdat_sections(name, lines)
    return _plain_sections(name, lines, markdown=name.lower().endswith(".md"))


# --- passages ------------------------------------------------------------------------------

def _paragraphs(lines: list[str], first: int, last: int) -> list[tuple[int, int]]:
    """0-based inclusive (start, end) of runs of non-blank lines within first..last (0-based)."""
    runs, start = [], None
    for i in range(first, last + 1):
        if is_blank(lines[i]):
            if start is not None:
                runs.append((start, i - 1))
                start = None
        elif start is None:
            start = i
    if start is not None:
        runs.append((start, last))
    return runs


def _line_voice(line: str, default: str) -> str:
    s = line.lstrip(" \u00a0\t")
    if s.startswith("////") or s.startswith("???"):
        return "author"
    if s.startswith("\\\\\\"):
        return "quote"
    return default


def _section_voices(lines: list[str], sec: Section) -> list[str]:
    """Voice of each body line. Unprefixed text is the author's in sections that mark quotes
    with `\\\\\\`, or that quote nothing; otherwise it is the quoted article."""
    body = lines[sec.body_start - 1: sec.body_end]
    has_backslash = any(_line_voice(x, "") == "quote" for x in body)
    quotes_article = any(RE_URL_LINE.match(x) or RE_BYLINE.match(x) for x in body)
    default = "author" if has_backslash or not quotes_article else "quote"
    voices, framed = [], None
    for line in body:
        s = collapse(line)
        if s.startswith("//// Начало цитирования"):
            framed = "quote"
        elif s.startswith("//// Конец цитирования"):
            framed = "author"
        voices.append(_line_voice(line, framed or default))
    return voices


def _chunks(paras: list[tuple[int, int]], lines: list[str], min_chars: int, max_chars: int) -> list[tuple[int, int]]:
    """Group paragraphs into runs of min..max characters; split over-long paragraphs by lines."""
    pieces = []
    for a, b in paras:
        size = sum(len(collapse(lines[i])) + 1 for i in range(a, b + 1))
        if size <= max_chars:
            pieces.append((a, b, size))
            continue
        start, acc = a, 0
        for i in range(a, b + 1):
            n = len(collapse(lines[i])) + 1
            if acc and acc + n > max_chars:
                pieces.append((start, i - 1, acc))
                start, acc = i, 0
            acc += n
        pieces.append((start, b, acc))
    chunks, cur, size = [], None, 0
    for a, b, n in pieces:
        if cur and size >= min_chars and size + n > max_chars:
            chunks.append(cur)
            cur, size = None, 0
        cur = (cur[0], b) if cur else (a, b)
        size += n
    if cur:
        if chunks and size < min_chars // 3:  # a tiny tail joins the previous chunk
            chunks[-1] = (chunks[-1][0], cur[1])
        else:
            chunks.append(cur)
    return chunks


def section_passages(lines: list[str], sec: Section, min_chars: int, max_chars: int) -> list[Passage]:
    first, last = sec.body_start - 1, sec.body_end - 1
    if last < first:
        return []
    voices = _section_voices(lines, sec)
    out = []
    for a, b in _chunks(_paragraphs(lines, first, last), lines, min_chars, max_chars):
        text = collapse("\n".join(lines[a: b + 1]))
        if not text:
            continue
        kinds = {voices[i - first] for i in range(a, b + 1) if not is_blank(lines[i])}
        voice = kinds.pop() if len(kinds) == 1 else "mixed"
        pid = f"{sec.source}:{a + 1}-{b + 1}"
        out.append(Passage(pid, sec.source, sec.number, sec.title, sec.date, sec.part, a + 1, b + 1, voice, text))
    return out


@dataclass
class Document:
    source: SourceText
    sections: list[Section]
    passages: list[Passage]


def parse_document(path: Path, min_chars: int = 600, max_chars: int = 1200) -> Document:
    lines = read_lines(path)
    sections = parse_sections(path.name, lines)
    passages = [p for sec in sections for p in section_passages(lines, sec, min_chars, max_chars)]
    return Document(SourceText(path.name, lines), sections, passages)


def parse_corpus(corpus_dir: Path, min_chars: int = 600, max_chars: int = 1200) -> list[Document]:
    docs = [parse_document(p, min_chars, max_chars) for p in corpus_files(corpus_dir)]
    if not any(d.passages for d in docs):
        raise CorpusError(f"corpus folder {corpus_dir} has no text to index")
    return docs
