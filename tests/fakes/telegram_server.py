"""A local fake of the Telegram Bot API, speaking its wire format over HTTP on 127.0.0.1.

The real python-telegram-bot client talks to it (`base_url=f"{root}/bot"`,
`base_file_url=f"{root}/file/bot"`). It implements the methods the bot uses and Telegram's real
errors: 400 for messages over 4096 visible characters, for HTML Telegram cannot parse, for edits
that change nothing and for unknown messages; 429 with `parameters.retry_after` (flood control
then lasts that long for the chat); 403 when the user blocked the bot. Tests inject updates
(messages, commands, callback queries, documents, stickers), script errors, and read the
recorded requests and the chat's current messages.
"""
from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from dataclasses import dataclass, field

from aiohttp import web

MAX_TEXT = 4096
# Telegram's HTML subset: tag → allowed attributes.
ALLOWED_TAGS = {
    "b": (), "strong": (), "i": (), "em": (), "u": (), "ins": (), "s": (), "strike": (), "del": (),
    "tg-spoiler": (), "span": ("class",), "a": ("href",), "tg-emoji": ("emoji-id",), "code": ("class",),
    "pre": (), "blockquote": ("expandable",),
}
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>")
_ATTR = re.compile(r"([A-Za-z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#[xX][0-9a-fA-F]+);")
JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "scope", "reply_parameters", "entities",
               "link_preview_options"}


class ParseError(Exception):
    pass


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """Telegram's HTML parse mode: the visible text, or ParseError with Telegram's wording."""
    out, stack, pos = [], [], 0

    def where() -> str:
        return f"at byte offset {len(text[:pos].encode())}"

    while pos < len(text):
        ch = text[pos]
        if ch == "<":
            m = _TAG.match(text, pos)
            if not m:
                raise ParseError(f"Unexpected end of name token {where()}")
            closing, name, attrs = m.group(1), m.group(2).lower(), m.group(3)
            if name not in ALLOWED_TAGS:
                raise ParseError(f'Unsupported start tag "{name}" {where()}')
            if closing:
                if attrs.strip():
                    raise ParseError(f'Unexpected end tag attributes {where()}')
                if not stack or stack[-1] != name:
                    raise ParseError(f'Unmatched end tag at byte offset {len(text[:pos].encode())}, '
                                     f'expected "</{stack[-1] if stack else ""}>", found "</{name}>"')
                stack.pop()
            else:
                for a in _ATTR.finditer(attrs):
                    if a.group(1).lower() not in ALLOWED_TAGS[name]:
                        raise ParseError(f'Unsupported attribute "{a.group(1)}" of tag "{name}" {where()}')
                if name == "a" and "href" not in attrs:
                    raise ParseError(f"Can't find href attribute of a tag {where()}")
                if name == "blockquote" and "blockquote" in stack:
                    raise ParseError(f"Can't nest blockquote entities {where()}")
                if stack and stack[-1] in ("pre", "code") and not (stack[-1] == "pre" and name == "code"):
                    raise ParseError(f"Can't use tags inside {stack[-1]} {where()}")
                stack.append(name)
            pos = m.end()
        elif ch == "&":
            m = _ENTITY.match(text, pos)
            if not m:
                raise ParseError(f"Unsupported HTML entity {where()}")
            out.append(html.unescape(m.group(0)))
            pos = m.end()
        elif ch == ">":
            raise ParseError(f"Unexpected character '>' {where()}; it must be escaped as &gt;")
        else:
            out.append(ch)
            pos += 1
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


@dataclass
class Call:
    method: str
    params: dict
    status: int = 200
    error: str | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class BotMessage:
    """A message the bot sent, as it currently stands."""

    chat_id: int
    message_id: int
    raw: str  # the text as sent (HTML source when parse_mode is HTML)
    text: str  # visible text after parsing
    parse_mode: str | None
    markup: dict | None
    edits: int = 0


@dataclass
class Rule:
    method: str
    chat_id: int | None
    code: int
    description: str
    retry_after: int | None
    times: int


class FakeTelegram:
    def __init__(self, token: str = "123456789:AAFakeTokenForTestsOnly_abcdefghijklm", *,
                 username: str = "corpus_test_bot", max_poll_s: float = 1.0) -> None:
        self.token, self.username, self.max_poll_s = token, username, max_poll_s
        self.bot_user = {"id": 999000, "is_bot": True, "first_name": "Corpus Bot", "username": username}
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], BotMessage] = {}
        self.files: dict[str, tuple[str, bytes]] = {}
        self.chat_types: dict[int, str] = {}
        self.blocked: set[int] = set()
        self.rules: list[Rule] = []
        self.flood_until: dict[int, float] = {}
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count] = {}
        self._changed = asyncio.Condition()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.root = ""

    # --- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> "FakeTelegram":
        app = web.Application(client_max_size=50_000_000)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.root = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc) -> None:
        self._closing = True
        await self._notify()
        await self._runner.cleanup()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- what tests inject -----------------------------------------------------------------

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _chat(self, chat_id: int) -> dict:
        kind = self.chat_types.get(chat_id, "private")
        return {"id": chat_id, "type": kind, **({"title": "Test group"} if kind != "private" else {"first_name": "U"})}

    @staticmethod
    def user(user_id: int, language_code: str | None = "ru") -> dict:
        u = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if language_code:
            u["language_code"] = language_code
        return u

    def _push(self, update: dict) -> dict:
        update["update_id"] = next(self._update_ids)
        self._updates.append(update)
        asyncio.get_running_loop().create_task(self._notify())
        return update

    def _message(self, chat_id: int, user_id: int, language_code: str | None, chat_type: str,
                 reply_to: int | None = None, **content) -> dict:
        self.chat_types.setdefault(chat_id, chat_type)
        msg = {"message_id": self._next_message_id(chat_id), "date": int(time.time()), "chat": self._chat(chat_id),
               "from": self.user(user_id, language_code), **content}
        if reply_to is not None:
            sent = self.messages[(chat_id, reply_to)]
            msg["reply_to_message"] = {"message_id": reply_to, "date": int(time.time()), "chat": self._chat(chat_id),
                                       "from": self.bot_user, "text": sent.text}
        return msg

    def send_text(self, text: str, *, chat_id: int = 100, user_id: int | None = None, language_code: str | None = "ru",
                  chat_type: str = "private", reply_to: int | None = None) -> dict:
        """A user's text message; commands and @mentions get their entities as Telegram adds them."""
        entities, start = [], 0
        if text.startswith("/"):
            command = text.split()[0]  # "/ask" or "/ask@botname"
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command)})
            start = len(command)
        for m in re.finditer(r"@\w+", text[start:]):
            offset = utf16_len(text[:start + m.start()])
            entities.append({"type": "mention", "offset": offset, "length": utf16_len(m.group())})
        content = {"text": text, **({"entities": entities} if entities else {})}
        msg = self._message(chat_id, user_id or chat_id, language_code, chat_type, reply_to, **content)
        return self._push({"message": msg})

    def send_sticker(self, *, chat_id: int = 100, user_id: int | None = None, language_code: str | None = "ru") -> dict:
        sticker = {"file_id": "STK1", "file_unique_id": "stk1", "type": "regular", "width": 512, "height": 512,
                   "is_animated": False, "is_video": False}
        return self._push({"message": self._message(chat_id, user_id or chat_id, language_code, "private",
                                                     sticker=sticker)})

    def send_document(self, file_name: str, data: bytes, *, chat_id: int = 100, user_id: int | None = None,
                      language_code: str | None = "ru") -> dict:
        file_id = f"DOC{len(self.files) + 1}"
        self.files[file_id] = (f"documents/file_{len(self.files) + 1}{file_name[file_name.rfind('.'):]}", data)
        doc = {"file_id": file_id, "file_unique_id": file_id.lower(), "file_name": file_name,
               "mime_type": "text/plain", "file_size": len(data)}
        return self._push({"message": self._message(chat_id, user_id or chat_id, language_code, "private",
                                                     document=doc)})

    def press(self, message: BotMessage, data: str, *, user_id: int | None = None,
              language_code: str | None = "ru") -> dict:
        """A user presses an inline button of a bot message."""
        query = {"id": str(next(self._update_ids) * 7), "from": self.user(user_id or message.chat_id, language_code),
                 "chat_instance": "ci", "data": data,
                 "message": {"message_id": message.message_id, "date": int(time.time()),
                             "chat": self._chat(message.chat_id), "from": self.bot_user, "text": message.text}}
        return self._push({"callback_query": query})

    # --- scripted failures -----------------------------------------------------------------

    def fail_next(self, method: str, code: int, description: str, *, chat_id: int | None = None,
                  retry_after: int | None = None, times: int = 1) -> None:
        self.rules.append(Rule(method.lower(), chat_id, code, description, retry_after, times))

    def flood(self, method: str, chat_id: int, retry_after: int) -> None:
        """The next `method` to `chat_id` hits flood control; the chat then stays limited for `retry_after` s."""
        self.fail_next(method, 429, f"Too Many Requests: retry after {retry_after}", chat_id=chat_id,
                       retry_after=retry_after)

    # --- what tests read -------------------------------------------------------------------

    def requests(self, method: str | None = None, chat_id: int | None = None) -> list[Call]:
        return [c for c in self.calls if (method is None or c.method == method.lower())
                and (chat_id is None or c.params.get("chat_id") == chat_id)]

    def chat(self, chat_id: int) -> list[BotMessage]:
        """The bot's messages in a chat, in order, as they currently stand."""
        return [m for (c, _), m in sorted(self.messages.items()) if c == chat_id]

    def html_replies(self, chat_id: int) -> list[BotMessage]:
        """Final replies: messages currently in HTML parse mode (drafts are plain text)."""
        return [m for m in self.chat(chat_id) if m.parse_mode == "HTML"]

    def rejected(self) -> list[Call]:
        return [c for c in self.calls if not c.ok]

    async def wait_for(self, predicate, timeout: float = 10.0, what: str = "condition"):
        """Wait until predicate() is truthy (re-checked after every request); return its value."""
        async def waiting():
            async with self._changed:
                while not (value := predicate()):
                    await self._changed.wait()
                return value
        try:
            return await asyncio.wait_for(waiting(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"timed out waiting for {what}; requests: "
                                 f"{[(c.method, c.status) for c in self.calls[-20:]]}") from None

    # --- the HTTP side ---------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict:
        if request.content_type == "application/json":
            raw = await request.json()
        elif request.method == "POST" and request.can_read_body:
            raw = {}
            for key, value in (await request.post()).items():
                raw[key] = value.file.read().decode("utf-8", "replace") if isinstance(value, web.FileField) else value
        else:
            raw = dict(request.query)
        params = {}
        for key, value in raw.items():
            if isinstance(value, str) and key in JSON_FIELDS:
                value = json.loads(value)
            elif isinstance(value, str) and re.fullmatch(r"-?\d+", value) and key != "text":
                value = int(value)
            params[key] = value
        return params

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"].lower()
        params = await self._params(request)
        call = Call(method, params)
        try:
            self._scripted(method, params)
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(params)
            body, status = {"ok": True, "result": result}, 200
        except ApiError as err:
            body = {"ok": False, "error_code": err.code, "description": err.description}
            if err.retry_after is not None:
                body["parameters"] = {"retry_after": err.retry_after}
            status, call.status, call.error = err.code, err.code, err.description
        if method != "getupdates" or status != 200 or body["result"]:
            self.calls.append(call)
            await self._notify()
        return web.json_response(body, status=status)

    def _scripted(self, method: str, params: dict) -> None:
        chat_id = params.get("chat_id")
        if chat_id in self.blocked and method in ("sendmessage", "editmessagetext", "sendchataction"):
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        left = self.flood_until.get(chat_id, 0) - time.monotonic()
        if left > 0 and method in ("sendmessage", "editmessagetext"):
            raise ApiError(429, f"Too Many Requests: retry after {int(left) + 1}", int(left) + 1)
        for rule in self.rules:
            if rule.times > 0 and rule.method == method and rule.chat_id in (None, chat_id):
                rule.times -= 1
                if rule.retry_after is not None and chat_id is not None:
                    self.flood_until[chat_id] = time.monotonic() + rule.retry_after
                raise ApiError(rule.code, rule.description, rule.retry_after)

    def _visible(self, params: dict) -> str:
        text = params.get("text")
        if not isinstance(text, str):
            raise ApiError(400, "Bad Request: message text is empty")
        if str(params.get("parse_mode", "")).upper() == "HTML":
            try:
                text = parse_html(text)
            except ParseError as err:
                raise ApiError(400, f"Bad Request: can't parse entities: {err}") from None
        text = text.strip()
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    def _wire(self, m: BotMessage) -> dict:
        msg = {"message_id": m.message_id, "date": int(time.time()), "chat": self._chat(m.chat_id),
               "from": self.bot_user, "text": m.text}
        if m.markup:
            msg["reply_markup"] = m.markup
        return msg

    def _find(self, params: dict) -> BotMessage:
        m = self.messages.get((params.get("chat_id"), params.get("message_id")))
        if m is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return m

    # --- methods ---------------------------------------------------------------------------

    async def _m_getme(self, params):
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _m_deletewebhook(self, params):
        return True

    async def _m_setmycommands(self, params):
        return True

    async def _m_sendchataction(self, params):
        return True

    async def _m_answercallbackquery(self, params):
        return True

    async def _m_getupdates(self, params):
        offset = params.get("offset") or 0
        self._updates = [u for u in self._updates if u["update_id"] >= offset]  # confirmed ones are gone
        timeout = min(float(params.get("timeout") or 0), self.max_poll_s)
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not self._updates and not self._closing and (left := deadline - time.monotonic()) > 0:
                try:
                    await asyncio.wait_for(self._changed.wait(), left)
                except asyncio.TimeoutError:
                    break
        return self._updates[: int(params.get("limit") or 100)]

    async def _m_sendmessage(self, params):
        text = self._visible(params)
        chat_id = params["chat_id"]
        m = BotMessage(chat_id, self._next_message_id(chat_id), params["text"], text, params.get("parse_mode"),
                       params.get("reply_markup"))
        self.messages[(chat_id, m.message_id)] = m
        return self._wire(m)

    async def _m_editmessagetext(self, params):
        m = self._find(params)
        text = self._visible(params)
        markup = params.get("reply_markup")
        if (params["text"], params.get("parse_mode"), markup) == (m.raw, m.parse_mode, m.markup):
            raise ApiError(400, "Bad Request: message is not modified: specified new message content and reply "
                                "markup are exactly the same as a current content and reply markup of the message")
        m.raw, m.text, m.parse_mode, m.markup = params["text"], text, params.get("parse_mode"), markup
        m.edits += 1
        return self._wire(m)

    async def _m_getfile(self, params):
        file_id = params.get("file_id")
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, data = self.files[file_id]
        return {"file_id": file_id, "file_unique_id": file_id.lower(), "file_size": len(data), "file_path": path}

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        for path, data in self.files.values():
            if path == request.match_info["path"]:
                self.calls.append(Call("download", {"file_path": path}))
                return web.Response(body=data)
        return web.Response(status=404)
