"""HTML rendering of answers, passages and admin replies for Telegram, split into sendable parts.

Telegram counts a message's length after entity parsing (the visible text), at most 4096; we count
UTF-16 code units (never fewer than characters) and keep a margin. Every piece of model or corpus
text goes through `html.escape`. A reply is built from blocks that are complete HTML on their own
(a paragraph, a heading plus a quote); parts are cut only between blocks, so never inside a tag,
an entity or a quote. A quote too long for one message becomes several closed quotes.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from ...core.answer import Answer, Citation
from ...core.messages import t

BUDGET = 4000  # visible units per message, a margin under Telegram's limit
EXPANDABLE_OVER = 300  # quotes longer than this start collapsed
SEPARATOR = "\n\n"


def units(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Block:
    html: str
    size: int  # visible units


def chunks(text: str, limit: int) -> list[str]:
    """Cut plain text into pieces of at most `limit` units, preferring paragraph, line, sentence
    and word boundaries."""
    text = text.strip()
    pieces = []
    while units(text) > limit:
        fit = min(len(text), limit)  # code points never exceed units, so this may be too long …
        while units(text[:fit]) > limit:  # … only when astral characters (emoji) are present
            fit -= 1
        head = text[:fit]
        cut = 0
        for sep in ("\n\n", "\n", ". ", "! ", "? ", " "):
            pos = head.rfind(sep)
            if pos > fit // 3:
                cut = pos + len(sep)
                break
        cut = cut or fit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def text_blocks(text: str, limit: int = BUDGET) -> list[Block]:
    return [Block(escape(p), units(p)) for p in chunks(text, limit)]


def quote_html(text: str) -> str:
    tag = "blockquote expandable" if units(text) > EXPANDABLE_OVER or text.count("\n") >= 4 else "blockquote"
    return f"<{tag}>{escape(text)}</blockquote>"


def quoted_blocks(head_html: str, head_size: int, body: str) -> list[Block]:
    """A heading with a quote under it; the quote continues in further closed quotes if needed."""
    pieces = chunks(body, BUDGET - head_size - 1) or [""]
    first = Block(f"{head_html}\n{quote_html(pieces[0])}", head_size + 1 + units(pieces[0]))
    return [first, *(Block(quote_html(p), units(p)) for p in pieces[1:])]


def lines_label(lang: str, start: int, end: int) -> str:
    span = f"{start}" if start == end else f"{start}–{end}"
    return f"{t('lines', lang)} {span}"


def citation_blocks(c: Citation, lang: str) -> list[Block]:
    title = f"[{c.n}] {c.section}"
    meta = f"{c.date or t('no_date', lang)} · {lines_label(lang, c.line_start, c.line_end)} · {c.source}"
    head = f"<b>{escape(title)}</b>\n<i>{escape(meta)}</i>"
    return quoted_blocks(head, units(title) + 1 + units(meta), c.quote)


def answer_blocks(answer: Answer) -> list[Block]:
    blocks = text_blocks(answer.text)
    if answer.citations and not answer.refused:
        heading = t("sources", answer.lang) + ":"
        cites = [b for c in answer.citations for b in citation_blocks(c, answer.lang)]
        first = cites[0]
        if first.size + units(heading) + 1 <= BUDGET:  # keep the heading with the first source
            cites[0] = Block(f"<b>{escape(heading)}</b>\n{first.html}", units(heading) + 1 + first.size)
        else:
            cites.insert(0, Block(f"<b>{escape(heading)}</b>", units(heading)))
        blocks += cites
    return blocks


def passage_blocks(passage, lang: str) -> list[Block]:
    """The full passage behind a citation: section, date, lines, source, then the text quoted."""
    title = passage.section
    meta = (f"{passage.date or t('no_date', lang)} · {lines_label(lang, passage.line_start, passage.line_end)}"
            f" · {passage.source}")
    head = f"<b>{escape(title)}</b>\n<i>{escape(meta)}</i>"
    return quoted_blocks(head, units(title) + 1 + units(meta), passage.text)


def pack(blocks: list[Block], budget: int = BUDGET) -> list[str]:
    """Join blocks into as few messages as fit in `budget` visible units each."""
    parts: list[str] = []
    current: list[Block] = []
    size = 0
    for block in blocks:
        extra = block.size + (units(SEPARATOR) if current else 0)
        if current and size + extra > budget:
            parts.append(SEPARATOR.join(b.html for b in current))
            current, size = [], 0
            extra = block.size
        current.append(block)
        size += extra
    if current:
        parts.append(SEPARATOR.join(b.html for b in current))
    return parts


def render_answer(answer: Answer) -> list[str]:
    return pack(answer_blocks(answer))


def render_passage(passage, lang: str) -> list[str]:
    return pack(passage_blocks(passage, lang))


def render_text(text: str) -> list[str]:
    """Plain text (admin replies, notices) escaped and split."""
    return pack(text_blocks(text)) or [escape(text)]


def draft_text(text: str) -> str:
    """The streamed draft (sent without parse mode), cut to fit one message."""
    text = text.strip()
    if units(text) <= BUDGET:
        return text + " …"
    return chunks(text, BUDGET)[0] + " …"
