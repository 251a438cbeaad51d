"""Build the python-telegram-bot Application and run it by long polling until `stop` is set."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging

from telegram import Update
from telegram.ext import Application

from .handlers import TelegramFrontend

log = logging.getLogger(__name__)


def build_application(settings) -> Application:
    """The one place the PTB Application is configured (token, optional self-hosted Bot API root)."""
    secrets = settings.secrets
    if secrets.telegram_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    builder = Application.builder().token(secrets.telegram_token.get_secret_value())
    if secrets.telegram_api_base_url:
        root = secrets.telegram_api_base_url.rstrip("/")
        builder = builder.base_url(f"{root}/bot").base_file_url(f"{root}/file/bot")
    # Updates are handled concurrently, so answers and a running reindex never wait on each other.
    return builder.concurrent_updates(True).build()


async def serve(core, settings, stop: asyncio.Event, *, poll_timeout_s: float = 10) -> None:
    """Answer Telegram updates until `stop` is set; then stop polling and finish in-flight replies."""
    app = build_application(settings)
    frontend = TelegramFrontend(core, settings)
    frontend.register(app)
    async with app:  # getMe … shutdown
        await frontend.set_commands(app.bot)
        await app.start()
        await app.updater.start_polling(allowed_updates=Update.ALL_TYPES,
                                        timeout=dt.timedelta(seconds=poll_timeout_s))
        log.info("telegram bot @%s polling", app.bot.username)
        try:
            await stop.wait()
        finally:
            await app.updater.stop()
            await app.stop()
    log.info("telegram bot stopped")
