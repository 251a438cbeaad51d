"""Telegram updates → AnswerService / AdminService calls → rendered replies.

Private chats: any text is a question. Groups (privacy mode on): `/ask …`, an @mention of the
bot or a reply to one of its messages. Handlers run concurrently (see app.py), so a reindex or
a slow answer never holds up other users.
"""
from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict

from telegram import (BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup, Message,
                      MessageEntity, Update)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from ...core.answer import Answer
from ...core.messages import t
from ...core.service import Asker
from .render import draft_text, render_answer, render_passage, render_text
from .streaming import Chat, LiveMessage
from .strings import s, ui_lang

log = logging.getLogger(__name__)

CALLBACK_LIMIT = 64  # bytes of callback_data Telegram accepts
FEEDBACK_REASONS = ("answered", "no_match", "unknown_entity", "unsupported")  # worth a 👍/👎
KEYS_KEPT = 5000  # long passage ids remembered for their buttons
DOCUMENT_SUFFIXES = (".txt", ".md")
BUTTONS_PER_ROW = 3
NEW_MESSAGES = filters.UpdateType.MESSAGE  # edited messages are not asked again


class TelegramFrontend:
    def __init__(self, core, settings) -> None:
        self.core, self.settings = core, settings
        self.service = core.service
        self.interval = settings.telegram.edit_interval_s
        self._keys: OrderedDict[str, str] = OrderedDict()  # short key → passage id

    def register(self, app: Application) -> None:
        commands = {"start": self.on_help, "help": self.on_help, "new": self.on_new, "ask": self.on_ask,
                    "reindex": self.on_reindex, "status": self.on_status}
        for name, callback in commands.items():
            app.add_handler(CommandHandler(name, callback, filters=NEW_MESSAGES))
        app.add_handler(CallbackQueryHandler(self.on_callback))
        app.add_handler(MessageHandler(NEW_MESSAGES & filters.Document.ALL, self.on_document))
        app.add_handler(MessageHandler(NEW_MESSAGES & filters.TEXT & ~filters.COMMAND, self.on_text))
        app.add_handler(MessageHandler(NEW_MESSAGES & filters.COMMAND & filters.ChatType.PRIVATE, self.on_help))
        app.add_handler(MessageHandler(NEW_MESSAGES & ~filters.TEXT & ~filters.StatusUpdate.ALL, self.on_other))
        app.add_error_handler(self.on_error)

    async def set_commands(self, bot) -> None:
        """Fill the command menu: everyone's commands, plus admin commands in admins' private chats."""
        public, admin = ("start", "help", "ask", "new"), ("status", "reindex")
        try:
            for lang, code in (("en", None), ("ru", "ru")):
                await bot.set_my_commands([BotCommand(c, s(f"cmd_{c}", lang)) for c in public], language_code=code)
        except TelegramError as err:
            log.warning("setMyCommands failed: %s", err.message)
        for admin_id in self.settings.telegram.admin_ids:
            for lang, code in (("en", None), ("ru", "ru")):
                try:
                    await bot.set_my_commands([BotCommand(c, s(f"cmd_{c}", lang)) for c in public + admin],
                                              scope=BotCommandScopeChat(admin_id), language_code=code)
                except TelegramError as err:  # e.g. the admin never opened a chat with the bot
                    log.warning("admin commands for %s not set: %s", admin_id, err.message)

    # --- helpers ---------------------------------------------------------------------------

    @staticmethod
    def asker(update: Update) -> Asker:
        user, chat = update.effective_user, update.effective_chat
        code = user.language_code if user else None
        return Asker(platform="telegram", chat_id=str(chat.id), user_id=str(user.id if user else chat.id),
                     user_lang=ui_lang(code) if code else None)

    @staticmethod
    def lang(update: Update) -> str:
        return ui_lang(update.effective_user.language_code if update.effective_user else None)

    @staticmethod
    def chat_for(message: Message, bot) -> Chat:
        """Reply in the same chat and topic; in groups as a reply to the asker's message."""
        private = message.chat.type == ChatType.PRIVATE
        return Chat(bot, message.chat.id, message.message_thread_id if message.is_topic_message else None,
                    None if private else message.message_id)

    def passage_data(self, passage_id: str) -> str:
        data = f"p:{passage_id}"
        if len(data.encode()) <= CALLBACK_LIMIT:
            return data
        key = hashlib.sha1(passage_id.encode()).hexdigest()[:16]
        self._keys[key] = passage_id
        self._keys.move_to_end(key)
        while len(self._keys) > KEYS_KEPT:
            self._keys.popitem(last=False)
        return f"k:{key}"

    def keyboard(self, answer: Answer) -> InlineKeyboardMarkup | None:
        rows = []
        if answer.citations and not answer.refused:
            buttons = [InlineKeyboardButton(s("passage_button", answer.lang, n=c.n),
                                            callback_data=self.passage_data(c.passage_id)) for c in answer.citations]
            rows += [buttons[i: i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]
        if answer.answer_id is not None and answer.reason in FEEDBACK_REASONS:
            rows.append([InlineKeyboardButton("👍", callback_data=f"f:{answer.answer_id}:1"),
                         InlineKeyboardButton("👎", callback_data=f"f:{answer.answer_id}:-1")])
        return InlineKeyboardMarkup(rows) if rows else None

    @staticmethod
    def addressed(message: Message, bot) -> str | None:
        """In a group: the question if the message is meant for the bot, else None."""
        text = message.text or ""
        reply = message.reply_to_message
        to_bot = bool(reply and reply.from_user and reply.from_user.id == bot.id)
        for entity, value in sorted(message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
                                    .items(), key=lambda kv: -kv[0].offset):
            if (entity.type == MessageEntity.MENTION and value.lower() == f"@{bot.username}".lower()) or \
                    (entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot.id):
                to_bot = True
                text = text.replace(value, " ", 1)
        return " ".join(text.split()) if to_bot else None

    # --- questions -------------------------------------------------------------------------

    async def ask(self, update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
        live = LiveMessage(self.chat_for(update.effective_message, context.bot), self.interval)
        live.start(typing=True)
        try:
            answer = await self.service.ask(question, self.asker(update),
                                            on_partial=lambda draft: live.update(draft_text(draft)))
        except BaseException:
            await live.cancel()
            raise
        await live.finish(render_answer(answer), self.keyboard(answer))

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message.chat.type == ChatType.PRIVATE:
            await self.ask(update, context, message.text)
        elif (question := self.addressed(message, context.bot)) is not None:
            await self.ask(update, context, question)

    async def on_ask(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        command = message.entities[0]  # CommandHandler guarantees a bot_command at offset 0
        await self.ask(update, context, message.text[command.length:].strip())

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, photos, voice…: a one-line hint (in groups only when replying to the bot)."""
        message = update.effective_message
        reply = message.reply_to_message
        if message.chat.type == ChatType.PRIVATE or (reply and reply.from_user and reply.from_user.id == context.bot.id):
            await self.chat_for(message, context.bot).send(s("non_text", self.lang(update)), html=False)

    # --- commands --------------------------------------------------------------------------

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        lang = self.lang(update)
        text = t("help", lang) + s("how_to_ask", lang, mention=f"@{context.bot.username}") + s("commands", lang)
        if self.core.admin is not None and self.core.admin.is_admin(self.asker(update)):
            text += s("admin_commands", lang)
        await self.chat_for(update.effective_message, context.bot).send_parts(render_text(text))

    async def on_new(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        text = self.service.new_chat(self.asker(update))
        await self.chat_for(update.effective_message, context.bot).send_parts(render_text(text))

    async def admin_action(self, update: Update, context, action, *args) -> None:
        """Run an AdminService call; for admins, progress lines are edited into one message."""
        chat = self.chat_for(update.effective_message, context.bot)
        admin, asker = self.core.admin, self.asker(update)
        if admin is None:
            await chat.send(s("admin_unavailable", self.lang(update)), html=False)
            return
        if not admin.is_admin(asker):  # the service refuses (and audits); no progress message
            reply = await getattr(admin, action)(asker, *args)
            await chat.send_parts(render_text(reply.text))
            return
        live = LiveMessage(chat, self.interval, initial=s("working", self.lang(update)))
        live.start(typing=False)
        try:
            reply = await getattr(admin, action)(asker, *args, on_progress=live.update)
        except BaseException:
            await live.cancel()
            raise
        await live.finish(render_text(reply.text))

    async def on_reindex(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.admin_action(update, context, "reindex")

    async def on_status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        admin = self.core.admin
        chat = self.chat_for(update.effective_message, context.bot)
        if admin is None:
            await chat.send(s("admin_unavailable", self.lang(update)), html=False)
            return
        reply = await admin.status(self.asker(update))
        await chat.send_parts(render_text(reply.text))

    async def on_document(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An admin's .txt/.md file is added to the corpus; anyone else gets a hint."""
        message, lang = update.effective_message, self.lang(update)
        if message.chat.type != ChatType.PRIVATE:
            return
        chat, admin, asker = self.chat_for(message, context.bot), self.core.admin, self.asker(update)
        doc = message.document
        name = doc.file_name or ""
        limit = self.settings.limits.max_upload_bytes
        if admin is None:
            hint = s("admin_unavailable", lang)
        elif not admin.is_admin(asker):
            hint = s("not_admin_upload", lang)
        elif not name.lower().endswith(DOCUMENT_SUFFIXES):
            hint = s("bad_document", lang)
        elif doc.file_size and doc.file_size > limit:
            hint = s("file_too_big", lang, limit=limit)
        else:
            hint = None
        if hint:
            await chat.send(hint, html=False)
            return
        try:
            file = await context.bot.get_file(doc.file_id)
            data = bytes(await file.download_as_bytearray())
        except TelegramError as err:
            log.warning("document download failed: %s", err.message)
            await chat.send(s("download_failed", lang), html=False)
            return
        await self.admin_action(update, context, "add_document", name, data)

    # --- buttons ---------------------------------------------------------------------------

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        data, lang = query.data or "", self.lang(update)
        if data.startswith(("p:", "k:")):
            passage_id = data[2:] if data.startswith("p:") else self._keys.get(data[2:])
            passage = self.service.passage(passage_id) if passage_id else None
            if passage is None:
                await query.answer(s("passage_gone", lang), show_alert=True)
                return
            await query.answer()
            chat_id = query.message.chat.id if query.message else query.from_user.id
            await Chat(context.bot, chat_id).send_parts(render_passage(passage, lang))
        elif data.startswith("f:"):
            try:
                _, answer_id, value = data.split(":")
                ok = self.service.feedback(int(answer_id), self.asker(update), int(value))
            except ValueError:
                ok = False
            await query.answer(s("feedback_thanks" if ok else "feedback_failed", lang))
        else:
            await query.answer()

    # --- errors ----------------------------------------------------------------------------

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log (the log handlers redact tokens); tell the user briefly; never show a trace."""
        err = context.error
        if isinstance(err, Forbidden):
            log.info("chat unavailable, reply dropped: %s", err.message)
            return
        if isinstance(err, NetworkError) and not isinstance(err, BadRequest):
            log.warning("Telegram request failed: %s", err.message)
            return
        log.error("handling a Telegram update failed", exc_info=err)
        if isinstance(update, Update) and update.effective_chat:
            try:
                await context.bot.send_message(update.effective_chat.id, t("error", self.lang(update)))
            except TelegramError:
                pass
