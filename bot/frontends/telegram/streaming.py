"""Delivery to one chat: Telegram's flood limits honoured, drafts edited into one message.

`deliver` retries a send after Telegram's 429 `retry_after` (bounded), so a final answer is not
lost to flood control. `LiveMessage` shows text that changes over time (a streamed draft, reindex
progress) in one message, edited at most once per `interval` and only when the text changed;
`finish` then turns that message into the final reply.
"""
from __future__ import annotations

import asyncio
import logging
import time
import warnings
from typing import Awaitable, Callable

from telegram import InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter

log = logging.getLogger(__name__)

RETRIES = 3  # flood-control retries of one request
MAX_WAIT_S = 60.0  # a longer retry_after is not waited for


def retry_after_s(err: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns while migrating the attribute to timedelta
        warnings.simplefilter("ignore")
        value = err.retry_after
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


def not_modified(err: BadRequest) -> bool:
    return "message is not modified" in err.message.lower()


async def deliver(call: Callable[[], Awaitable], what: str = "request"):
    """Run a Bot API call, waiting out flood control a bounded number of times."""
    for attempt in range(RETRIES + 1):
        try:
            return await call()
        except RetryAfter as err:
            wait = retry_after_s(err)
            if attempt == RETRIES or wait > MAX_WAIT_S:
                raise
            log.warning("flood control on %s: retrying in %.0f s", what, wait)
            await asyncio.sleep(wait + 0.05)


class Chat:
    """Where replies go: a chat (and forum topic), optionally as replies to the user's message."""

    def __init__(self, bot, chat_id: int, thread_id: int | None = None, reply_to: int | None = None) -> None:
        self.bot, self.chat_id, self.thread_id, self.reply_to = bot, chat_id, thread_id, reply_to

    async def send(self, text: str, *, html: bool = True, markup: InlineKeyboardMarkup | None = None,
                   retry: bool = True) -> Message:
        reply = ReplyParameters(self.reply_to, allow_sending_without_reply=True) if self.reply_to else None

        def call():
            return self.bot.send_message(self.chat_id, text, parse_mode=ParseMode.HTML if html else None,
                                         reply_markup=markup, message_thread_id=self.thread_id,
                                         reply_parameters=reply)

        return await (deliver(call, "sendMessage") if retry else call())

    async def send_parts(self, parts: list[str], markup: InlineKeyboardMarkup | None = None) -> None:
        for i, part in enumerate(parts):
            await self.send(part, markup=markup if i == len(parts) - 1 else None)

    async def typing(self) -> None:
        try:
            await self.bot.send_chat_action(self.chat_id, "typing", message_thread_id=self.thread_id)
        except (RetryAfter, BadRequest):  # cosmetic: never worth a retry
            pass


class LiveMessage:
    """One message whose text is updated by throttled edits, then replaced by the final parts."""

    TYPING_EVERY_S = 4.5  # Telegram shows "typing" for about 5 s

    def __init__(self, chat: Chat, interval: float, initial: str | None = None) -> None:
        self.chat, self.interval = chat, interval
        self.message: Message | None = None
        self._wanted = initial  # latest text to show (plain text)
        self._shown: str | None = None
        self._next_at = 0.0  # monotonic time before which no request is sent (interval, flood control)
        self._wake = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task | None = None

    def start(self, typing: bool = True) -> None:
        self._task = asyncio.create_task(self._run(typing))

    def update(self, text: str) -> None:
        """Called with the whole current text (on the event loop); shown at the next allowed edit."""
        self._wanted = text
        self._wake.set()

    async def _run(self, typing: bool) -> None:
        next_typing = 0.0
        while not self._closed:
            now = time.monotonic()
            if typing and self.message is None and now >= next_typing:
                await self.chat.typing()
                next_typing = now + self.TYPING_EVERY_S
            wait = self._next_at - now
            if wait <= 0 and self._wanted is not None and self._wanted != self._shown:
                await self._show(self._wanted)
                continue
            self._wake.clear()
            timeout = wait if wait > 0 else (next_typing - now if typing and self.message is None else None)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    async def _show(self, text: str) -> None:
        """Send or edit the draft; flood control just postpones it, since newer text will follow. The
        interval counts from the end of a request, so requests reach Telegram at least that far apart
        even when one is slow to arrive."""
        pause = self.interval
        try:
            if self.message is None:
                self.message = await self.chat.send(text, html=False, retry=False)
            else:
                await self.chat.bot.edit_message_text(text, self.chat.chat_id, self.message.message_id)
            self._shown = text
        except RetryAfter as err:
            pause = retry_after_s(err)
        except BadRequest as err:
            if not not_modified(err):
                log.warning("draft update failed: %s", err.message)
            self._shown = text  # never retry the same text in a loop
        self._next_at = time.monotonic() + pause

    async def _stop(self) -> None:
        self._closed = True
        self._wake.set()
        if self._task:
            try:
                await self._task
            except Forbidden:
                raise
            except Exception:
                log.exception("draft updates failed")

    async def finish(self, parts: list[str], markup: InlineKeyboardMarkup | None = None) -> None:
        """Replace the draft with the final HTML parts (edit the draft into the first part)."""
        await self._stop()
        wait = min(self._next_at - time.monotonic(), MAX_WAIT_S)
        if wait > 0:
            await asyncio.sleep(wait)
        if self.message is None:
            await self.chat.send_parts(parts, markup)
            return
        first_markup = markup if len(parts) == 1 else None
        try:
            await deliver(lambda: self.chat.bot.edit_message_text(
                parts[0], self.chat.chat_id, self.message.message_id, parse_mode=ParseMode.HTML,
                reply_markup=first_markup), "editMessageText")
        except BadRequest as err:
            if not not_modified(err):  # e.g. the draft was deleted: send the reply anew
                log.warning("final edit failed (%s); sending a new message", err.message)
                await self.chat.send(parts[0], markup=first_markup)
        await self.chat.send_parts(parts[1:], markup)

    async def cancel(self) -> None:
        await self._stop()
