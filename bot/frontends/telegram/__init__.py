"""Telegram front end (python-telegram-bot v22): `serve(core, settings, stop)`."""
from .app import build_application, serve

__all__ = ["build_application", "serve"]
