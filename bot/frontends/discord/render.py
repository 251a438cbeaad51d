"""Answers as Discord messages: escaped text in ≤ 2000-character parts, sources as embeds.

Everything from the corpus or the model is escaped (markdown and @mentions), and every send also
passes `NO_PINGS`, so no text can format itself or notify anyone. Embeds are grouped within
Discord's per-message limits (10 embeds, 6000 characters in all).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import discord
from discord.utils import escape_markdown, escape_mentions

from ...core.answer import Answer, Citation
from ...core.messages import t

NO_PINGS = discord.AllowedMentions.none()
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBEDS_TOTAL = 6000
MAX_TITLE, MAX_DESCRIPTION, MAX_FOOTER = 256, 4096, 2048


def escape(text: str) -> str:
    return escape_mentions(escape_markdown(text))


def _safe_cut(text: str, cut: int) -> int:
    """Move a cut back so that an escaping backslash stays with the character it escapes."""
    while cut > 1 and text[cut - 1] == "\\":
        cut -= 1
    return cut


def shorten(text: str, limit: int) -> str:
    """`text` within `limit` characters, cut at a word boundary with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    cut = _safe_cut(text, cut if cut > limit // 2 else limit - 1)
    return text[:cut].rstrip() + "…"


def split_text(text: str, limit: int = MAX_CONTENT) -> list[str]:
    """Split at paragraph, line, sentence or word boundaries (in that preference) into ≤ limit parts."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for sep in ("\n\n", "\n", ". ", " "):
            pos = window.rfind(sep)
            if pos >= limit // 3:
                cut = pos + len(sep.rstrip())
                break
        if cut <= 0:
            cut = _safe_cut(rest, limit)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts


@dataclass
class Page:
    """One Discord message: content (≤ 2000) and embeds (within the per-message limits)."""

    content: str
    embeds: list[discord.Embed] = field(default_factory=list)


def _lines(start: int, end: int, lang: str) -> str:
    return f"{t('lines', lang)} {start}–{end}" if end != start else f"{t('lines', lang)} {start}"


def source_embed(c: Citation, lang: str) -> discord.Embed:
    footer = shorten(f"{c.date or t('no_date', lang)} · {_lines(c.line_start, c.line_end, lang)} · {c.source}",
                     MAX_FOOTER)
    title = shorten(f"[{c.n}] {escape(c.section)}", MAX_TITLE)
    # title + description + footer must also fit in one message's 6000 characters.
    room = min(MAX_DESCRIPTION, MAX_EMBEDS_TOTAL - len(title) - len(footer))
    embed = discord.Embed(title=title, description=shorten(escape(c.quote), room), colour=discord.Colour.blurple())
    embed.set_footer(text=footer)
    return embed


def embed_groups(embeds: list[discord.Embed]) -> list[list[discord.Embed]]:
    groups: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    size = 0
    for e in embeds:
        n = len(e)
        if current and (len(current) == MAX_EMBEDS or size + n > MAX_EMBEDS_TOTAL):
            groups.append(current)
            current, size = [], 0
        current.append(e)
        size += n
    if current:
        groups.append(current)
    return groups


def answer_pages(answer: Answer) -> list[Page]:
    """The final answer as messages: text parts first, the source embeds on the last ones."""
    text = escape(answer.text)
    if answer.refused and answer.suggestions:
        titles = ", ".join(f"«{s}»" for s in answer.suggestions)
        text += "\n\n" + escape(t("look_at", answer.lang, titles=titles))
    pages = [Page(part) for part in split_text(text)]
    groups = embed_groups([source_embed(c, answer.lang) for c in answer.citations])
    if groups:
        pages[-1].embeds = groups[0]
        pages += [Page("", group) for group in groups[1:]]
    return pages


def draft(text: str) -> str:
    """A streaming draft: escaped, within one message, marked as unfinished."""
    return shorten(escape(text), MAX_CONTENT - 2) + " …"


def passage_parts(passage, lang: str) -> list[str]:
    """A full passage (for the "full passage" button) as ≤ 2000-character messages."""
    head = (f"**{escape(passage.section)}** ({passage.date or t('no_date', lang)}, {escape(passage.source)}, "
            f"{_lines(passage.line_start, passage.line_end, lang)})")
    return split_text(f"{head}\n{escape(passage.text)}")
