"""Logging: JSON lines to a rotating file (and plain text to stderr), secrets redacted."""
from __future__ import annotations

import json
import logging
import logging.handlers
import re
import time

# Telegram tokens (123456:ABC…), Discord tokens (three dot-separated base64 parts), bearer keys.
_SECRET = re.compile(r"\b\d{6,}:[\w-]{30,}\b|\b[\w-]{20,}\.[\w-]{6}\.[\w-]{27,}\b|(?i:bearer)\s+\S+")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return _SECRET.sub("***", text)


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)), "level": record.levelname,
                 "logger": record.name, "msg": record.getMessage()}
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(settings, stderr_level: str | None = None) -> None:
    secrets = tuple(s.get_secret_value() for s in (settings.secrets.telegram_token, settings.secrets.discord_token,
                                                   settings.secrets.openai_api_key) if s)
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(settings.logging.level)
    redactor = RedactingFilter(secrets)
    console = logging.StreamHandler()
    console.setLevel(stderr_level or "WARNING")
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    console.addFilter(redactor)
    root.addHandler(console)
    if settings.logging.file:
        path = settings.logging.file
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=settings.logging.max_bytes,
                                                       backupCount=settings.logging.backups, encoding="utf-8")
        handler.setFormatter(JsonFormatter())
        handler.addFilter(redactor)
        root.addHandler(handler)
    for noisy in ("httpx", "httpcore", "telegram.ext", "discord.gateway", "discord.client", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
