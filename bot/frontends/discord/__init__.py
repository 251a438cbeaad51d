"""Discord front end: `serve(core, settings, stop)` runs the bot until `stop` is set."""
from __future__ import annotations

import asyncio
import logging

from .client import DiscordBot
from .endpoint import use_api_root

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 10.0  # in-flight answers get this long to finish on SIGTERM


async def serve(core, settings, stop: asyncio.Event) -> None:
    token = settings.secrets.discord_token
    if token is None:
        raise RuntimeError("DISCORD_BOT_TOKEN is not set")
    if settings.secrets.discord_api_base_url:
        use_api_root(settings.secrets.discord_api_base_url)
    bot = DiscordBot(core, settings)
    runner = asyncio.create_task(bot.start(token.get_secret_value()), name="discord-client")
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        await bot.shutdown(SHUTDOWN_GRACE_S)
        await asyncio.wait({runner}, timeout=10)
    if not runner.done():
        log.warning("the Discord client did not stop in time")
        runner.cancel()
    elif not stop.is_set() and not runner.cancelled() and runner.exception() is not None:
        # A failed start, e.g. a rejected token; discord.py's messages do not contain the token.
        raise runner.exception()
