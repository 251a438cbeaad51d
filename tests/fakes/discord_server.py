"""A fake Discord (REST + websocket gateway) on 127.0.0.1 for the real discord.py client.

Only what discord.py 2.7 calls for a bot that logs in, syncs slash commands, reads messages and
answers interactions. Routes and payload shapes follow discord.py's own source (http.py,
gateway.py, state.py, interactions.py, webhook/async_.py). Like Discord, it enforces the message
limits (50035), the 3-second interaction deadline (10062), answers 429s that tests inject, and
echoes the bot's own messages back over the gateway.

Tests act as users (`user_message`, `slash`, `click`) and read what users would see
(`messages`, `interactions`), waiting with `wait_for` (always bounded).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from aiohttp import WSMsgType, web

TOKEN = "fake-bot-token.XYZ"
MESSAGE_CONTENT_INTENT = 1 << 15
EPHEMERAL = 64
LOADING = 128
INTERACTION_DEADLINE_S = 3.0

_ids = itertools.count(1_200_000_000_000_000_001)


def snowflake() -> int:
    return next(_ids)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _user(uid: int, name: str, bot: bool = False) -> dict:
    return {"id": str(uid), "username": name, "global_name": name, "discriminator": "0", "avatar": None,
            "bot": bot, "public_flags": 0}


def _json(data, status: int = 200, headers: dict | None = None) -> web.Response:
    # discord.py decodes JSON only when Content-Type is exactly "application/json".
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json", **(headers or {})})


def _error(status: int, code: int, message: str, errors: dict | None = None) -> web.Response:
    body = {"message": message, "code": code}
    if errors:
        body["errors"] = errors
    return _json(body, status)


def message_errors(payload: dict) -> dict:
    """Discord's limits on a message payload; {} when it would be accepted."""
    errors: dict = {}
    content = payload.get("content") or ""
    if len(content) > 2000:
        errors["content"] = f"Must be 2000 or fewer in length (got {len(content)})."
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        errors["embeds"] = "Must be 10 or fewer in length."
    total = 0
    for i, e in enumerate(embeds):
        limits = {"title": 256, "description": 4096}
        for key, limit in limits.items():
            n = len(e.get(key) or "")
            total += n
            if n > limit:
                errors[f"embeds.{i}.{key}"] = f"Must be {limit} or fewer in length."
        footer = len((e.get("footer") or {}).get("text") or "")
        total += footer
        if footer > 2048:
            errors[f"embeds.{i}.footer.text"] = "Must be 2048 or fewer in length."
        fields = e.get("fields") or []
        if len(fields) > 25:
            errors[f"embeds.{i}.fields"] = "Must be 25 or fewer in length."
        for f in fields:
            total += len(f.get("name") or "") + len(f.get("value") or "")
            if len(f.get("name") or "") > 256 or len(f.get("value") or "") > 1024:
                errors[f"embeds.{i}.fields"] = "Field too long."
        total += len((e.get("author") or {}).get("name") or "")
    if total > 6000:
        errors["embeds"] = f"Embed size exceeds maximum size of 6000 (got {total})."
    rows = payload.get("components") or []
    if len(rows) > 5:
        errors["components"] = "Must be 5 or fewer in length."
    for r, row in enumerate(rows):
        items = row.get("components") or []
        if len(items) > 5:
            errors[f"components.{r}"] = "Must be 5 or fewer in length."
        for item in items:
            if len(item.get("custom_id") or "") > 100 or len(item.get("label") or "") > 80:
                errors[f"components.{r}"] = "custom_id or label too long."
    if not content and not embeds and not rows and "content" in payload:
        errors["content"] = "Cannot send an empty message."
    return errors


def pings_everyone(payload: dict) -> bool:
    """Would Discord notify @everyone/@here for this payload (as it parses content)?"""
    content = payload.get("content") or ""
    if not re.search(r"@(everyone|here)", content):
        return False
    allowed = payload.get("allowed_mentions")
    return allowed is None or "everyone" in (allowed.get("parse") or [])


@dataclass
class Msg:
    """A message as users see it; `history` keeps every content it showed, in order."""

    id: int
    channel_id: int
    author: dict
    content: str = ""
    embeds: list = field(default_factory=list)
    components: list = field(default_factory=list)
    flags: int = 0
    guild_id: int | None = None
    reference: int | None = None
    interaction_id: int | None = None
    history: list = field(default_factory=list)
    payloads: list = field(default_factory=list)  # every accepted payload (create + edits)
    attachments: list = field(default_factory=list)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for row in self.components for c in row.get("components", []) if "custom_id" in c]

    def labels(self) -> list[str]:
        return [c.get("label") or "" for row in self.components for c in row.get("components", [])]

    def text(self) -> str:
        """Content plus embed texts: everything a user reads in this message."""
        parts = [self.content]
        for e in self.embeds:
            parts += [e.get("title") or "", e.get("description") or "", (e.get("footer") or {}).get("text") or ""]
            parts += [f"{f.get('name')} {f.get('value')}" for f in e.get("fields") or []]
        return "\n".join(p for p in parts if p)


@dataclass
class Interaction:
    id: int
    token: str
    user: dict
    channel_id: int
    guild_id: int | None
    created: float
    acked_type: int | None = None
    acked_at: float | None = None
    original: Msg | None = None
    followups: list = field(default_factory=list)
    message_id: int | None = None  # the message whose component was clicked

    def shown(self) -> list[Msg]:
        return ([self.original] if self.original else []) + self.followups


class FakeDiscord:
    def __init__(self) -> None:
        self.app_id = snowflake()
        self.bot = _user(self.app_id, "corpusbot", bot=True)
        self.guild_id = snowflake()
        self.channel_id = snowflake()
        self.mod_role_id = snowflake()
        self.users = {name: _user(snowflake(), name) for name in ("alice", "bob", "carol")}
        self.user_roles = {"carol": [self.mod_role_id]}
        self.dm_channels = {name: snowflake() for name in self.users}
        self.messages: dict[int, Msg] = {}
        self.interactions: dict[int, Interaction] = {}
        self.commands: dict[str, list[dict]] = {}  # "global" or guild id → synced commands
        self.attachments: dict[int, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.rejected: list[tuple[str, dict]] = []  # (path, errors) of refused payloads
        self.pinged_everyone: list[dict] = []
        self.served_429: list[str] = []
        self.identify: dict | None = None
        self._faults: list[tuple[str, re.Pattern, float]] = []  # (method, path, retry_after)
        self._ws: web.WebSocketResponse | None = None
        self._seq = 0
        self._ready = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.root = ""

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application(middlewares=[self._middleware])
        api = "/api/v10"
        r = app.router
        r.add_get("/", self._gateway)
        r.add_get(api + "/users/@me", self._me)
        r.add_get(api + "/oauth2/applications/@me", self._application)
        r.add_put(api + "/applications/{app}/commands", self._sync_commands)
        r.add_put(api + "/applications/{app}/guilds/{guild}/commands", self._sync_commands)
        r.add_post(api + "/channels/{channel}/messages", self._create_message)
        r.add_patch(api + "/channels/{channel}/messages/{message}", self._edit_message)
        r.add_post(api + "/interactions/{id}/{token}/callback", self._callback)
        r.add_patch(api + "/webhooks/{app}/{token}/messages/{message}", self._edit_webhook_message)
        r.add_delete(api + "/webhooks/{app}/{token}/messages/{message}", self._delete_webhook_message)
        r.add_post(api + "/webhooks/{app}/{token}", self._followup)
        r.add_get("/attachments/{id}/{name}", self._attachment)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.root = f"http://127.0.0.1:{port}"
        return self.root

    @property
    def ws_url(self) -> str:
        return self.root.replace("http://", "ws://") + "/"

    async def close(self) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_ready(self, timeout: float = 10) -> None:
        """Until the client has identified and received READY and GUILD_CREATE."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    # ---- test controls ---------------------------------------------------------------------
    def fail_once_with_429(self, method: str, path_regex: str, retry_after: float = 0.3) -> None:
        self._faults.append((method, re.compile(path_regex), retry_after))

    async def wait_for(self, predicate, timeout: float = 10, what: str = "condition"):
        """Poll `predicate()` until it returns something truthy (returned) or fail after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            await asyncio.sleep(0.02)

    def bot_messages(self, channel_id: int | None = None) -> list[Msg]:
        return [m for m in self.messages.values()
                if m.author["id"] == self.bot["id"] and (channel_id is None or m.channel_id == channel_id)]

    def all_bot_payloads(self) -> list[dict]:
        return [p for m in self.bot_messages() for p in m.payloads]

    # ---- users acting ----------------------------------------------------------------------
    def _member(self, name: str, with_user: bool = True) -> dict:
        m = {"roles": [str(r) for r in self.user_roles.get(name, [])], "joined_at": _now(), "deaf": False,
             "mute": False, "flags": 0, "nick": None, "avatar": None, "premium_since": None, "pending": False}
        if with_user:
            m["user"] = self.users[name]
        return m

    def _message_payload(self, m: Msg) -> dict:
        data = {
            "id": str(m.id), "channel_id": str(m.channel_id), "author": m.author, "content": m.content,
            "timestamp": _now(), "edited_timestamp": None, "tts": False, "mention_everyone": False,
            "mentions": [], "mention_roles": [], "attachments": m.attachments, "embeds": m.embeds, "pinned": False,
            "type": 0, "flags": m.flags, "components": m.components,
        }
        if m.guild_id:
            data["guild_id"] = str(m.guild_id)
        if m.reference:
            data["type"] = 19
            data["message_reference"] = {"message_id": str(m.reference), "channel_id": str(m.channel_id)}
        if m.interaction_id:
            data["webhook_id"] = str(self.app_id)
            data["application_id"] = str(self.app_id)
        return data

    async def user_message(self, name: str, content: str, *, dm: bool = False, mention_bot: bool = False,
                           files: dict[str, bytes] | None = None) -> Msg:
        """`name` posts in the guild channel (or in a DM with the bot)."""
        channel = self.dm_channels[name] if dm else self.channel_id
        if mention_bot:
            content = f"<@{self.app_id}> {content}"
        m = Msg(snowflake(), channel, self.users[name], content, guild_id=None if dm else self.guild_id)
        for filename, data in (files or {}).items():
            aid = snowflake()
            self.attachments[aid] = data
            m.attachments.append({"id": str(aid), "filename": filename, "size": len(data),
                                  "url": f"{self.root}/attachments/{aid}/{filename}",
                                  "proxy_url": f"{self.root}/attachments/{aid}/{filename}",
                                  "content_type": "text/plain"})
        self.messages[m.id] = m
        payload = self._message_payload(m)
        payload["mentions"] = [self.bot] if mention_bot else []
        if not dm:
            payload["member"] = self._member(name, with_user=False)
        await self.dispatch("MESSAGE_CREATE", payload)
        return m

    def _interaction_payload(self, it: Interaction, name: str, kind: int, data: dict, locale: str) -> dict:
        payload = {
            "id": str(it.id), "application_id": str(self.app_id), "type": kind, "data": data, "token": it.token,
            "version": 1, "locale": locale, "app_permissions": "2248473465835073", "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild_id)}, "attachment_size_limit": 10_485_760,
            "channel_id": str(it.channel_id),
        }
        if it.guild_id:
            payload.update(guild_id=str(it.guild_id), guild_locale="ru", context=0,
                           channel={"id": str(it.channel_id), "type": 0, "guild_id": str(it.guild_id),
                                    "name": "general", "position": 0, "permission_overwrites": []},
                           member={**self._member(name), "permissions": "2248473465835073"})
        else:
            payload.update(context=1, user=self.users[name],
                           channel={"id": str(it.channel_id), "type": 1, "recipients": [self.users[name]]})
        return payload

    async def slash(self, name: str, command: str, options: dict | None = None, *, dm: bool = False,
                    locale: str = "ru", attachment: tuple[str, bytes] | None = None) -> Interaction:
        """`name` runs `/command` with string options (and at most one attachment option)."""
        scope = "global" if dm else str(self.guild_id)
        synced = self.commands.get(scope) or self.commands.get("global") or []
        cmd = next((c for c in synced if c["name"] == command), None)
        assert cmd is not None, f"/{command} was not synced (synced: {[c['name'] for c in synced]})"
        opts = [{"name": k, "type": 3, "value": v} for k, v in (options or {}).items()]
        data: dict = {"id": cmd["id"], "name": command, "type": 1, "options": opts}
        if attachment:
            aid = snowflake()
            filename, blob = attachment
            self.attachments[aid] = blob
            opt_name = next(o["name"] for o in cmd.get("options", []) if o["type"] == 11)
            opts.append({"name": opt_name, "type": 11, "value": str(aid)})
            data["resolved"] = {"attachments": {str(aid): {
                "id": str(aid), "filename": filename, "size": len(blob), "content_type": "text/plain",
                "url": f"{self.root}/attachments/{aid}/{filename}",
                "proxy_url": f"{self.root}/attachments/{aid}/{filename}"}}}
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        it = self._new_interaction(name, dm)
        await self.dispatch("INTERACTION_CREATE", self._interaction_payload(it, name, 2, data, locale))
        return it

    async def click(self, name: str, message: Msg, custom_id: str, *, locale: str = "ru") -> Interaction:
        """`name` presses the button `custom_id` under `message`."""
        assert custom_id in message.custom_ids(), f"no button {custom_id!r} on the message"
        it = self._new_interaction(name, message.guild_id is None)
        it.channel_id, it.message_id = message.channel_id, message.id
        payload = self._interaction_payload(it, name, 3, {"custom_id": custom_id, "component_type": 2}, locale)
        payload["message"] = self._message_payload(message)
        await self.dispatch("INTERACTION_CREATE", payload)
        return it

    def _new_interaction(self, name: str, dm: bool) -> Interaction:
        it = Interaction(snowflake(), f"itoken-{snowflake()}", self.users[name],
                         self.dm_channels[name] if dm else self.channel_id, None if dm else self.guild_id,
                         time.monotonic())
        self.interactions[it.id] = it
        return it

    # ---- gateway ---------------------------------------------------------------------------
    async def dispatch(self, event: str, data: dict) -> None:
        await self.wait_ready()
        self._seq += 1
        await self._ws.send_str(json.dumps({"op": 0, "t": event, "s": self._seq, "d": data}))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None}))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            op = frame.get("op")
            if op == 1:
                await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
            elif op == 2:
                if frame["d"].get("token") != TOKEN:
                    await ws.close(code=4004, message=b"Authentication failed.")
                    break
                self.identify = frame["d"]
                self._ws = ws
                await self._send_ready(ws)
        return ws

    async def _send_ready(self, ws: web.WebSocketResponse) -> None:
        ready = {"v": 10, "user": {**self.bot, "verified": True, "mfa_enabled": False, "flags": 0},
                 "guilds": [{"id": str(self.guild_id), "unavailable": True}], "session_id": "fake-session",
                 "resume_gateway_url": self.ws_url, "application": {"id": str(self.app_id), "flags": 0},
                 "private_channels": [], "relationships": [], "user_settings": {}, "shard": [0, 1]}
        everyone = {"id": str(self.guild_id), "name": "@everyone", "permissions": "1071698660929", "position": 0,
                    "color": 0, "hoist": False, "managed": False, "mentionable": False, "flags": 0}
        mods = {**everyone, "id": str(self.mod_role_id), "name": "Moderators", "position": 1}
        guild = {
            "id": str(self.guild_id), "name": "Test guild", "icon": None, "owner_id": self.users["alice"]["id"],
            "roles": [everyone, mods], "emojis": [], "stickers": [], "features": [], "large": False,
            "unavailable": False, "member_count": 4, "members": [{**self._bot_member()}], "presences": [],
            "voice_states": [], "threads": [], "stage_instances": [], "guild_scheduled_events": [],
            "soundboard_sounds": [], "joined_at": _now(), "preferred_locale": "ru", "system_channel_id": None,
            "channels": [{"id": str(self.channel_id), "type": 0, "name": "general", "position": 0,
                          "permission_overwrites": [], "nsfw": False, "parent_id": None, "topic": None}],
        }
        for event, data in (("READY", ready), ("GUILD_CREATE", guild)):
            self._seq += 1
            await ws.send_str(json.dumps({"op": 0, "t": event, "s": self._seq, "d": data}))
        self._ready.set()

    def _bot_member(self) -> dict:
        return {"user": self.bot, "roles": [], "joined_at": _now(), "deaf": False, "mute": False, "flags": 0}

    # ---- REST ------------------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler):
        path = request.path
        self.requests.append((request.method, path))
        for fault in list(self._faults):
            method, pattern, retry_after = fault
            if request.method == method and pattern.search(path):
                self._faults.remove(fault)
                self.served_429.append(f"{method} {path}")
                return _json({"message": "You are being rate limited.", "retry_after": retry_after,
                              "global": False}, 429, headers={"Via": "1.1 google", "Retry-After": "1"})
        needs_auth = path.startswith("/api/") and not path.startswith(("/api/v10/interactions/",
                                                                        "/api/v10/webhooks/"))
        if needs_auth and request.headers.get("Authorization") != f"Bot {TOKEN}":
            return _error(401, 0, "401: Unauthorized")
        return await handler(request)

    async def _me(self, request: web.Request) -> web.Response:
        return _json(self.bot)

    async def _application(self, request: web.Request) -> web.Response:
        return _json({"id": str(self.app_id), "name": "corpusbot", "icon": None, "description": "",
                      "bot_public": True, "bot_require_code_grant": False, "owner": self.users["alice"],
                      "verify_key": "00", "flags": 0, "summary": "", "team": None, "bot": self.bot,
                      "interactions_endpoint_url": None})

    async def _sync_commands(self, request: web.Request) -> web.Response:
        scope = request.match_info.get("guild", "global")
        out = []
        for cmd in await request.json():
            c = {**cmd, "id": str(snowflake()), "application_id": str(self.app_id), "version": "1",
                 "type": cmd.get("type", 1), "default_member_permissions": cmd.get("default_member_permissions")}
            if scope != "global":
                c["guild_id"] = scope
            out.append(c)
        self.commands[scope] = out
        return _json(out)

    async def _payload(self, request: web.Request) -> dict:
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            return json.loads(form.get("payload_json") or "{}")
        return await request.json()

    def _check(self, path: str, payload: dict) -> web.Response | None:
        errors = message_errors(payload)
        if errors:
            self.rejected.append((path, errors))
            return _error(400, 50035, "Invalid Form Body", errors)
        if pings_everyone(payload):
            self.pinged_everyone.append(payload)
        return None

    def _apply(self, m: Msg, payload: dict) -> None:
        if "content" in payload:
            m.content = payload["content"] or ""
        if "embeds" in payload:
            m.embeds = payload["embeds"] or []
        if "components" in payload:
            m.components = payload["components"] or []
        m.flags &= ~LOADING
        m.history.append(m.content)
        m.payloads.append(payload)

    async def _new_bot_message(self, channel_id: int, payload: dict, *, guild_id=None, interaction=None,
                               flags: int = 0) -> Msg:
        m = Msg(snowflake(), channel_id, self.bot, guild_id=guild_id, flags=flags | (payload.get("flags") or 0),
                interaction_id=interaction)
        ref = payload.get("message_reference")
        if ref:
            m.reference = int(ref["message_id"])
        self._apply(m, payload)
        self.messages[m.id] = m
        if not m.ephemeral:  # Discord echoes the bot's own messages to it
            await self.dispatch("MESSAGE_CREATE", self._message_payload(m))
        return m

    async def _create_message(self, request: web.Request) -> web.Response:
        channel = int(request.match_info["channel"])
        payload = await self._payload(request)
        if (bad := self._check(request.path, payload)) is not None:
            return bad
        guild_id = self.guild_id if channel == self.channel_id else None
        m = await self._new_bot_message(channel, payload, guild_id=guild_id)
        return _json(self._message_payload(m))

    async def _edit_message(self, request: web.Request) -> web.Response:
        m = self.messages.get(int(request.match_info["message"]))
        if m is None or m.author["id"] != self.bot["id"]:
            return _error(404, 10008, "Unknown Message")
        payload = await self._payload(request)
        if (bad := self._check(request.path, payload)) is not None:
            return bad
        self._apply(m, payload)
        await self.dispatch("MESSAGE_UPDATE", self._message_payload(m))
        return _json(self._message_payload(m))

    def _by_token(self, token: str) -> Interaction | None:
        return next((it for it in self.interactions.values() if it.token == token), None)

    async def _callback(self, request: web.Request) -> web.Response:
        it = self.interactions.get(int(request.match_info["id"]))
        if it is None or it.token != request.match_info["token"]:
            return _error(404, 10062, "Unknown interaction")
        if it.acked_type is not None:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        if time.monotonic() - it.created > INTERACTION_DEADLINE_S:
            return _error(404, 10062, "Unknown interaction")
        body = await self._payload(request)
        kind, data = body["type"], body.get("data") or {}
        if kind in (4, 7) and (bad := self._check(request.path, data)) is not None:
            return bad
        it.acked_type, it.acked_at = kind, time.monotonic()
        message = None
        if kind in (4, 5):  # a new message (5: "thinking…" until edited)
            it.original = await self._new_bot_message(
                it.channel_id, data, guild_id=it.guild_id, interaction=it.id,
                flags=(data.get("flags") or 0) | (LOADING if kind == 5 else 0))
            message = it.original
        elif kind == 7:
            message = self.messages[it.message_id]
            self._apply(message, data)
        reply = {"interaction": {"id": str(it.id), "type": 2 if it.message_id is None else 3,
                                 "response_message_id": str(message.id) if message else None,
                                 "response_message_loading": kind == 5,
                                 "response_message_ephemeral": bool(message and message.ephemeral)}}
        if message is not None:
            reply["resource"] = {"type": kind, "message": self._message_payload(message)}
        return _json(reply)

    def _webhook_target(self, request: web.Request) -> tuple[Interaction | None, Msg | None]:
        it = self._by_token(request.match_info["token"])
        if it is None:
            return None, None
        ref = request.match_info["message"]
        if ref == "@original":
            return it, it.original
        return it, next((m for m in it.followups if m.id == int(ref)), None)

    async def _edit_webhook_message(self, request: web.Request) -> web.Response:
        it, m = self._webhook_target(request)
        if it is None:
            return _error(404, 10015, "Unknown Webhook")
        if m is None:
            return _error(404, 10008, "Unknown Message")
        payload = await self._payload(request)
        if (bad := self._check(request.path, payload)) is not None:
            return bad
        self._apply(m, payload)
        if not m.ephemeral:
            await self.dispatch("MESSAGE_UPDATE", self._message_payload(m))
        return _json(self._message_payload(m))

    async def _delete_webhook_message(self, request: web.Request) -> web.Response:
        it, m = self._webhook_target(request)
        if it is None or m is None:
            return _error(404, 10008, "Unknown Message")
        self.messages.pop(m.id, None)
        if m is it.original:
            it.original = None
        else:
            it.followups.remove(m)
        return web.Response(status=204)

    async def _followup(self, request: web.Request) -> web.Response:
        it = self._by_token(request.match_info["token"])
        if it is None or it.acked_type is None:
            return _error(404, 10015, "Unknown Webhook")
        payload = await self._payload(request)
        if (bad := self._check(request.path, payload)) is not None:
            return bad
        m = await self._new_bot_message(it.channel_id, payload, guild_id=it.guild_id, interaction=it.id)
        it.followups.append(m)
        if request.query.get("wait") in ("1", "true", "True"):
            return _json(self._message_payload(m))
        return web.Response(status=204)

    async def _attachment(self, request: web.Request) -> web.Response:
        blob = self.attachments.get(int(request.match_info["id"]))
        if blob is None:
            return web.Response(status=404)
        return web.Response(body=blob, headers={"Content-Type": "text/plain"})
