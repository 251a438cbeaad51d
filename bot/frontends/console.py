"""Console chat: type a question, watch the answer stream, then read the quoted sources.

Commands: /new (forget the conversation), /help, /status, /reindex, /quit.
"""
from __future__ import annotations

import asyncio
import sys

from ..core.messages import t
from ..core.service import Asker
from ..core.text import language

PROMPT = "\n? "


def render_plain(answer) -> str:
    """Plain-text rendering shared by the console and `python -m bot ask`."""
    lines = [answer.text]
    if answer.citations:
        lines.append(f"\n{t('sources', answer.lang)}:")
        for c in answer.citations:
            lines.append(f"[{c.n}] «{c.section}», {c.date or t('no_date', answer.lang)}, "
                         f"{c.source}, {t('lines', answer.lang)} {c.line_start}–{c.line_end}")
            lines.append(f"    > {c.quote}")
    return "\n".join(lines)


class _Stream:
    """Prints the growing draft answer; the verified answer is printed in full at the end."""

    def __init__(self, out) -> None:
        self.out, self.shown = out, ""

    def __call__(self, draft: str) -> None:
        if draft.startswith(self.shown):
            self.out.write(draft[len(self.shown):])
            self.out.flush()
            self.shown = draft


async def _chat(core, stdin, out) -> None:
    asker = Asker("console", "console", "local", limited=False)
    out.write(t("help", "ru") + "\n\n" + t("help", "en") + "\n/new /status /reindex /quit\n")
    loop = asyncio.get_running_loop()
    while True:
        out.write(PROMPT)
        out.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        text = line.strip()
        lang = language(text) if text else "ru"
        if text in ("/quit", "/exit"):
            break
        if text == "/new":
            out.write(core.service.new_chat(asker) + "\n")
            continue
        if text == "/help":
            out.write(t("help", lang) + "\n")
            continue
        if text in ("/status", "/reindex") and core.admin is not None:
            action = core.admin.status if text == "/status" else core.admin.reindex
            kwargs = {} if text == "/status" else {"on_progress": lambda s: out.write(f"\r{s}")}
            reply = await action(asker, **kwargs)
            out.write("\n" + reply.text + "\n")
            continue
        stream = _Stream(out)
        answer = await core.service.ask(text, asker, on_partial=stream)
        out.write(("\n\n" if stream.shown else "") + render_plain(answer) + "\n")


def run_console(core, stdin=None, out=None) -> int:
    try:
        asyncio.run(_chat(core, stdin or sys.stdin, out or sys.stdout))
    except KeyboardInterrupt:
        pass
    finally:
        core.close()
    return 0
