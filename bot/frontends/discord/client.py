"""The Discord bot: slash commands, mentions and DMs, buttons — a thin adapter over the core.

Questions go to `core.service`, admin commands to `core.admin`; this module only translates
Discord events into calls and `Answer`s into messages (see render.py).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Awaitable, Callable

import discord
from discord import app_commands
from discord.utils import MISSING

from ...core.answer import Answer
from ...core.messages import t
from ...core.service import Asker
from ...core.text import language
from . import render
from .render import NO_PINGS, escape
from .strings import COMMANDS_RU, ui

log = logging.getLogger(__name__)

DOCUMENT_EXTENSIONS = (".txt", ".md")
# Notices about the request itself (not answers): on slash commands only the asker sees them.
PRIVATE_REASONS = {"rate_limited", "busy", "too_long", "empty", "shutting_down"}


def locale_lang(locale) -> str:
    return "ru" if str(locale).startswith("ru") else "en"


def role_names(user) -> tuple[str, ...]:
    """Role names of a guild member (for the admin-role check); none for DM users."""
    return tuple(r.name for r in getattr(user, "roles", ()) if not r.is_default())


def interaction_asker(interaction: discord.Interaction) -> Asker:
    return Asker("discord", str(interaction.channel_id), str(interaction.user.id),
                 locale_lang(interaction.locale), role_names(interaction.user))


class Throttled:
    """Shows the latest text through `edit` at most once per `interval` seconds, never the same
    text twice; edits run one at a time, so they cannot arrive out of order."""

    def __init__(self, edit: Callable[[str], Awaitable[object]], interval: float) -> None:
        self._edit, self._interval = edit, interval
        self._pending: str | None = None
        self._shown: str | None = None
        self._last = float("-inf")
        self._task: asyncio.Task | None = None
        self._sleeping = False
        self._closed = False

    def push(self, text: str) -> None:
        if self._closed:  # the final text has taken over
            return
        self._pending = text
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending is not None:
            delay = self._last + self._interval - loop.time()
            if delay > 0:
                self._sleeping = True
                try:
                    await asyncio.sleep(delay)
                finally:
                    self._sleeping = False
            text, self._pending = self._pending, None
            if text is None or text == self._shown:
                continue
            try:
                await self._edit(text)
                self._shown = text
            except discord.HTTPException as exc:  # a lost draft is harmless: the final text follows
                log.warning("streaming edit failed: %s", exc)
            self._last = loop.time()

    async def close(self) -> None:
        """Stop; an edit already in flight finishes first (the final text is sent after it)."""
        self._closed, self._pending = True, None
        task = self._task
        if task is None or task.done():
            return
        if self._sleeping:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button], template=r"fb:(?P<value>[+-]1):(?P<answer>\d+)"):
    """👍/👎 under an answer; the custom_id carries everything, so it works after a restart."""

    def __init__(self, value: int, answer_id: int) -> None:
        super().__init__(discord.ui.Button(emoji="👍" if value > 0 else "👎", style=discord.ButtonStyle.secondary,
                                           custom_id=f"fb:{value:+d}:{answer_id}", row=0))
        self.value, self.answer_id = value, answer_id

    @classmethod
    async def from_custom_id(cls, interaction, item, match: re.Match[str]):
        return cls(int(match["value"]), int(match["answer"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        lang = locale_lang(interaction.locale)
        ok = interaction.client.core.service.feedback(self.answer_id, interaction_asker(interaction), self.value)
        await interaction.response.send_message(ui("feedback_thanks" if ok else "feedback_failed", lang),
                                                ephemeral=True, allowed_mentions=NO_PINGS)


class PassageButton(discord.ui.DynamicItem[discord.ui.Button], template=r"psg:(?P<pid>.+)"):
    """Shows the full passage behind a citation, only to whoever pressed it."""

    def __init__(self, passage_id: str, label: str = "…", row: int = 1) -> None:
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.secondary,
                                           custom_id=f"psg:{passage_id}", row=row))
        self.passage_id = passage_id

    @classmethod
    async def from_custom_id(cls, interaction, item, match: re.Match[str]):
        return cls(match["pid"])

    async def callback(self, interaction: discord.Interaction) -> None:
        lang = locale_lang(interaction.locale)
        passage = interaction.client.core.service.passage(self.passage_id)
        parts = render.passage_parts(passage, lang) if passage else [ui("passage_gone", lang)]
        await interaction.response.send_message(parts[0], ephemeral=True, allowed_mentions=NO_PINGS)
        for part in parts[1:]:
            await interaction.followup.send(part, ephemeral=True, allowed_mentions=NO_PINGS)


def answer_view(answer: Answer) -> discord.ui.View | None:
    view = discord.ui.View(timeout=None)
    if answer.answer_id is not None and not answer.refused:
        view.add_item(FeedbackButton(1, answer.answer_id))
        view.add_item(FeedbackButton(-1, answer.answer_id))
    for i, c in enumerate(answer.citations[:20]):  # rows 1-4 hold 20 buttons
        if len(f"psg:{c.passage_id}") <= 100:  # Discord's custom_id limit
            view.add_item(PassageButton(c.passage_id, ui("passage_button", answer.lang, n=c.n), row=1 + i // 5))
    return view if view.children else None


class CommandTranslator(app_commands.Translator):
    async def translate(self, string, locale, context):
        return COMMANDS_RU.get(string.message) if locale is discord.Locale.russian else None


class DiscordBot(discord.Client):
    def __init__(self, core, settings) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # to read questions in mentions and DMs
        super().__init__(intents=intents, allowed_mentions=NO_PINGS)
        self.core, self.settings = core, settings
        self.interval = settings.discord.edit_interval_s
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = self._on_command_error
        self.tree.interaction_check = self._accepting
        self._inflight: set[asyncio.Task] = set()
        self._stopping = False
        self._register_commands()

    # ---- start-up and shutdown ---------------------------------------------------------------
    async def setup_hook(self) -> None:
        self.add_dynamic_items(FeedbackButton, PassageButton)
        await self.tree.set_translator(CommandTranslator())
        guild_id = self.settings.discord.guild_id
        try:
            if guild_id:  # guild commands take effect at once; global ones can take an hour
                guild = discord.Object(guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
            else:
                synced = await self.tree.sync()
            log.info("synced %d slash commands to %s", len(synced), f"guild {guild_id}" if guild_id else "all guilds")
        except discord.HTTPException as exc:  # the bot still answers mentions and DMs
            log.error("could not sync slash commands: %s", exc)

    async def on_ready(self) -> None:
        log.info("Discord: logged in as %s (%s)", self.user, self.user.id if self.user else "?")

    @contextlib.contextmanager
    def _tracked(self):
        task = asyncio.current_task()
        self._inflight.add(task)
        try:
            yield
        finally:
            self._inflight.discard(task)

    async def shutdown(self, grace_s: float = 10.0) -> None:
        """Let in-flight answers finish (up to `grace_s`), cancel the rest, close the connection."""
        self._stopping = True
        pending = [task for task in self._inflight if not task.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace_s)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=5)
        await self.close()

    async def _accepting(self, interaction: discord.Interaction) -> bool:
        """While stopping, new slash commands get a "restarting" notice instead of a start."""
        if self._stopping:
            await interaction.response.send_message(t("shutting_down", locale_lang(interaction.locale)),
                                                    ephemeral=True, allowed_mentions=NO_PINGS)
        return not self._stopping

    # ---- errors: logged, never shown as a trace ------------------------------------------------
    async def on_error(self, event_method: str, /, *args, **kwargs) -> None:
        log.exception("Discord event %s failed", event_method)

    async def _on_command_error(self, interaction: discord.Interaction, error: Exception) -> None:
        name = interaction.command.name if interaction.command else "?"
        log.error("slash command /%s failed", name, exc_info=error)
        text = t("error", locale_lang(interaction.locale))
        with contextlib.suppress(discord.HTTPException):
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)
            else:
                await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)

    # ---- slash commands ----------------------------------------------------------------------
    def _register_commands(self) -> None:
        tree, s = self.tree, app_commands.locale_str

        @tree.command(name="ask", description=s("Ask a question about the text"))
        @app_commands.describe(question=s("Your question"))
        async def ask(interaction: discord.Interaction, question: str) -> None:
            with self._tracked():
                await self._ask_slash(interaction, question)

        @tree.command(name="help", description=s("What this bot does and how to ask"))
        async def help_(interaction: discord.Interaction) -> None:
            lang = locale_lang(interaction.locale)
            await interaction.response.send_message(f"{t('help', lang)}\n\n{ui('commands', lang)}", ephemeral=True,
                                                    allowed_mentions=NO_PINGS)

        @tree.command(name="new", description=s("Start over: forget the previous questions"))
        async def new(interaction: discord.Interaction) -> None:
            text = self.core.service.new_chat(interaction_asker(interaction))
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)

        @tree.command(name="reindex", description=s("Admin: rebuild the index from the corpus"))
        async def reindex(interaction: discord.Interaction) -> None:
            asker = interaction_asker(interaction)
            with self._tracked():
                await self._admin_slash(interaction, lambda admin, progress: admin.reindex(asker, on_progress=progress))

        @tree.command(name="status", description=s("Admin: index, model and usage status"))
        async def status(interaction: discord.Interaction) -> None:
            asker = interaction_asker(interaction)
            with self._tracked():
                await self._admin_slash(interaction, lambda admin, progress: admin.status(asker))

        @tree.command(name="add", description=s("Admin: add a .txt or .md document to the corpus"))
        @app_commands.describe(document=s("The document (.txt or .md)"))
        async def add(interaction: discord.Interaction, document: discord.Attachment) -> None:
            asker = interaction_asker(interaction)
            with self._tracked():
                await self._admin_slash(interaction, lambda admin, progress: self._add_document(
                    admin, asker, document, progress))

    async def _ask_slash(self, interaction: discord.Interaction, question: str) -> None:
        await interaction.response.defer(thinking=True)  # Discord wants an acknowledgement within 3 s
        live = Throttled(lambda text: interaction.edit_original_response(content=text, allowed_mentions=NO_PINGS),
                         self.interval)
        try:
            answer = await self.core.service.ask(question, interaction_asker(interaction),
                                                 on_partial=lambda d: live.push(render.draft(d)))
        finally:
            await live.close()
        if answer.reason in PRIVATE_REASONS:
            await interaction.delete_original_response()
            await interaction.followup.send(escape(answer.text), ephemeral=True, allowed_mentions=NO_PINGS)
            return
        await self._deliver(
            answer,
            first=lambda page, view: interaction.edit_original_response(
                content=page.content, embeds=page.embeds, view=view, allowed_mentions=NO_PINGS),
            more=lambda page, view: interaction.followup.send(
                content=page.content, embeds=page.embeds, view=view or MISSING, allowed_mentions=NO_PINGS,
                wait=True))

    async def _deliver(self, answer: Answer, first, more) -> None:
        """The final answer: `first` replaces the draft, `more` sends further parts; buttons go last."""
        pages = render.answer_pages(answer)
        view = answer_view(answer)
        for i, page in enumerate(pages):
            page_view = view if i == len(pages) - 1 else None
            await (first if i == 0 else more)(page, page_view)

    # ---- admin commands ----------------------------------------------------------------------
    async def _admin_slash(self, interaction: discord.Interaction, call) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._run_admin(
            locale_lang(interaction.locale), call,
            edit=lambda text: interaction.edit_original_response(content=text, allowed_mentions=NO_PINGS),
            more=lambda text: interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS))

    async def _run_admin(self, lang: str, call, edit, more) -> None:
        """Run an admin call; its progress lines and then its result edit one message."""
        admin = self.core.admin
        if admin is None:
            await edit(ui("admin_unavailable", lang))
            return
        live = Throttled(edit, self.interval)
        try:
            result = await call(admin, lambda line: live.push(render.shorten(escape(line), render.MAX_CONTENT)))
        finally:
            await live.close()
        text = result if isinstance(result, str) else result.text  # an AdminReply, or a notice of ours
        parts = render.split_text(escape(text))
        await edit(parts[0])
        for part in parts[1:]:
            await more(part)

    async def _add_document(self, admin, asker: Asker, attachment: discord.Attachment, progress):
        if not admin.is_admin(asker):  # refused (and audited) by the service without downloading
            return await admin.add_document(asker, attachment.filename, b"")
        lang = asker.user_lang or "ru"
        if not attachment.filename.lower().endswith(DOCUMENT_EXTENSIONS):
            return ui("file_type", lang)
        limit = self.settings.limits.max_upload_bytes
        if attachment.size > limit:
            return ui("file_too_big", lang, limit=limit)
        data = await attachment.read()
        return await admin.add_document(asker, attachment.filename, data, on_progress=progress)

    # ---- mentions and direct messages --------------------------------------------------------
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.user is None or self._stopping:
            return
        in_dm = message.guild is None
        if not in_dm and not any(u.id == self.user.id for u in message.mentions):
            return
        with self._tracked():
            try:
                await self._answer_message(message, in_dm)
            except Exception:
                log.exception("answering a Discord message failed")
                with contextlib.suppress(discord.HTTPException):
                    await message.channel.send(t("error", language(message.content)), allowed_mentions=NO_PINGS)

    async def _answer_message(self, message: discord.Message, in_dm: bool) -> None:
        question = re.sub(rf"<@!?{self.user.id}>", " ", message.content).strip()
        lang = language(question) if question else "ru"
        asker = Asker("discord", str(message.channel.id), str(message.author.id), lang, role_names(message.author))
        documents = [a for a in message.attachments if a.filename.lower().endswith(DOCUMENT_EXTENSIONS)]
        if in_dm and (documents or (message.attachments and not question)):  # an admin adding a document
            upload = (documents or message.attachments)[0]
            status = await message.reply(ui("working", lang), mention_author=False, allowed_mentions=NO_PINGS)
            await self._run_admin(
                lang, lambda admin, progress: self._add_document(admin, asker, upload, progress),
                edit=lambda text: status.edit(content=text, allowed_mentions=NO_PINGS),
                more=lambda text: message.channel.send(text, allowed_mentions=NO_PINGS))
            return
        if not question:
            await message.reply(f"{t('help', lang)}\n\n{ui('commands', lang)}", mention_author=False,
                                allowed_mentions=NO_PINGS)
            return
        reply = await message.reply(ui("thinking", lang), mention_author=False, allowed_mentions=NO_PINGS)
        live = Throttled(lambda text: reply.edit(content=text, allowed_mentions=NO_PINGS), self.interval)
        try:
            answer = await self.core.service.ask(question, asker, on_partial=lambda d: live.push(render.draft(d)))
        finally:
            await live.close()
        await self._deliver(
            answer,
            first=lambda page, view: reply.edit(content=page.content, embeds=page.embeds, view=view,
                                                allowed_mentions=NO_PINGS),
            more=lambda page, view: message.channel.send(content=page.content or None, embeds=page.embeds,
                                                         view=view, allowed_mentions=NO_PINGS))
