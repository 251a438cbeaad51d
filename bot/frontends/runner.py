"""`python -m bot serve`: start the configured front ends in one process, stop them cleanly.

`auto` runs Telegram and/or Discord when their tokens are set, else the console chat.
SIGINT/SIGTERM set a stop event; each front end then stops taking requests and finishes.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import sys

from ..config import Settings

log = logging.getLogger(__name__)


def chosen_frontends(settings: Settings, frontend: str) -> list[str]:
    s = settings.secrets
    if frontend == "auto":
        return [name for name, token in (("telegram", s.telegram_token), ("discord", s.discord_token)) if token] \
            or ["console"]
    if frontend == "all":
        return ["telegram", "discord"]
    return [frontend]


def missing_tokens(settings: Settings, names: list[str]) -> list[str]:
    need = {"telegram": ("TELEGRAM_BOT_TOKEN", settings.secrets.telegram_token),
            "discord": ("DISCORD_BOT_TOKEN", settings.secrets.discord_token)}
    return [need[n][0] for n in names if n in need and not need[n][1]]


async def _serve_chats(core, settings: Settings, names: list[str]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runners = []
    for name in names:
        if name == "telegram":
            from .telegram import serve as serve_telegram

            runners.append(serve_telegram(core, settings, stop))
        elif name == "discord":
            from .discord import serve as serve_discord

            runners.append(serve_discord(core, settings, stop))
    print(f"bot running: {', '.join(names)} (Ctrl-C to stop)", file=sys.stderr)
    results = await asyncio.gather(*runners, return_exceptions=True)
    for name, result in zip(names, results):
        if isinstance(result, BaseException):
            log.error("%s front end stopped with an error: %s", name, result)


def serve(settings: Settings, frontend: str = "auto") -> int:
    names = chosen_frontends(settings, frontend)
    if missing := missing_tokens(settings, names):
        print(f"error: set {', '.join(missing)} in the environment or .env to run {', '.join(names)}",
              file=sys.stderr)
        return 2
    from ..app import Core
    from ..core.index import stale_sources
    from ..core.model_files import check_model

    if settings.llm.backend == "llama_cpp":
        check_model(settings.llm.model_path, settings.llm.model_sha256)  # a wrong file never starts silently
    core = Core(settings)
    if stale := stale_sources(core.index, settings.corpus_dir):
        print(f"warning: the corpus changed since index {core.index.version} was built ({', '.join(stale)}); "
              "answers use the old index until you run `python -m bot index` or /reindex", file=sys.stderr)
    if names == ["console"]:
        from .console import run_console

        return run_console(core)
    try:
        asyncio.run(_serve_chats(core, settings, names))
    finally:
        core.close()
    return 0
