"""A local stand-in for the Telegram Bot API, so the bot can be developed and tested with no network.

It is a small aiohttp server on 127.0.0.1 that speaks the real HTTP protocol at ``/bot<token>/<method>``
(GET or POST; query string, form, JSON or multipart parameters), so the *real* python-telegram-bot client
talks to it exactly as it would to api.telegram.org: point PTB's ``base_url`` at ``BotApiStandIn.base_url``
(``http://127.0.0.1:PORT/bot``) and nothing else changes.

What it emulates (and checks, the way Telegram does):
  getMe, getUpdates (real long polling: ``timeout``, ``offset`` acknowledging, ``limit``, sticky
  ``allowed_updates``, 409 while a webhook is set), sendMessage (inline and reply keyboards, parse_mode with
  a light HTML/MarkdownV2 check, 4096-character limit, "chat not found", "bot was blocked by the user"),
  sendPhoto, sendChatAction, answerCallbackQuery (unknown/answered query ids refused), editMessageText,
  editMessageReplyMarkup (including "message is not modified"), deleteMessage, setWebhook / deleteWebhook /
  getWebhookInfo (while a webhook is set, updates are POSTed to it with the X-Telegram-Bot-Api-Secret-Token
  header), getFile (+ downloads under /file/bot<token>/<path>), setMyCommands / getMyCommands /
  deleteMyCommands, close, logOut. Unknown methods get Telegram's 404 "Not Found"; a wrong token gets 401
  "Unauthorized" (404 if it is not even shaped like a token). Methods that exist in Telegram but are not
  emulated here answer 400 with a description that says so, instead of pretending to succeed.

Deliberate differences from the real service: webhooks may be plain http:// on any port (it is all loopback),
there is no flood control unless a test asks for it with ``fail_next(..., 429, retry_after=...)``, and
file ids are readable strings.

Use in tests::

    async with BotApiStandIn(token="123:abc") as tg:
        application = build_application(settings_with(base_url=tg.base_url), deps)
        ...
        tg.inject_text(chat_id=42, text="/start CODE")
        call = await tg.wait_for_sent(method="sendMessage", chat_id=42)
        assert "automated assistant" in call.text
        tg.press_button(42, call.message_id, "ack:7")
        tg.fail_next("sendMessage", 429, retry_after=3)      # the next sendMessage gets flood control

Use standalone, to try Telegram mode offline (two terminals)::

    python -m devtools.telegram_standin --port 8081 --token 123:abc
    TELEGRAM_BOT_TOKEN=123:abc TELEGRAM_API_BASE_URL=http://127.0.0.1:8081/bot make run
    # or, with in-memory records (link code DEMO, practitioner chat 2001) and no database:
    TELEGRAM_BOT_TOKEN=123:abc TELEGRAM_API_BASE_URL=http://127.0.0.1:8081/bot python -m bot.run.gateway --demo

Then type in the stand-in's terminal (``/start DEMO`` first, in demo mode). Plain lines are sent as the
patient (chat 1001) and the bot's answers are printed. Lines starting with ``:`` are stand-in commands:

    :patient [CHAT_ID]     speak as a patient (default chat 1001)
    :staff [CHAT_ID]       speak as a practitioner (default chat 2001)
    :press N               press button N of the last message with buttons in the current chat
    :photo [caption]       send a photo        :sticker   :voice   send a sticker / a voice note
    :edit NEW TEXT         edit your last text message
    :calls                 list the last Bot API calls      :help   :quit
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import itertools
import json
import logging
import re
import sys
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from aiohttp import ClientSession, ClientTimeout, web

log = logging.getLogger(__name__)

JSON = Dict[str, Any]

# Parameters Telegram parses as integers / booleans / JSON when they arrive as form fields or query strings.
# (PTB sends nested objects such as reply_markup as JSON-encoded strings in form fields, like most clients.)
_INT_PARAMS = {
    "chat_id",
    "message_id",
    "offset",
    "limit",
    "timeout",
    "reply_to_message_id",
    "max_connections",
    "cache_time",
    "message_thread_id",
    "duration",
    "width",
    "height",
    "from_chat_id",
}
_BOOL_PARAMS = {
    "drop_pending_updates",
    "show_alert",
    "disable_notification",
    "protect_content",
    "disable_web_page_preview",
    "allow_sending_without_reply",
    "has_spoiler",
}
_JSON_PARAMS = {
    "reply_markup",
    "allowed_updates",
    "commands",
    "scope",
    "entities",
    "caption_entities",
    "link_preview_options",
    "reply_parameters",
}

# Update types Telegram sends when allowed_updates is empty (all except these three opt-in ones).
_OPT_IN_UPDATE_TYPES = {"chat_member", "message_reaction", "message_reaction_count"}

_CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}

# Real Telegram methods this stand-in does not emulate: they get an honest 400 rather than a fake success.
_KNOWN_BUT_NOT_EMULATED = {
    "forwardmessage",
    "copymessage",
    "senddocument",
    "sendaudio",
    "sendvideo",
    "sendanimation",
    "sendvoice",
    "sendvideonote",
    "sendmediagroup",
    "sendlocation",
    "sendvenue",
    "sendcontact",
    "sendpoll",
    "senddice",
    "sendsticker",
    "getchat",
    "getchatmember",
    "leavechat",
    "setchatmenubutton",
    "getchatmenubutton",
    "editmessagecaption",
    "editmessagemedia",
    "stopmessagelivelocation",
    "getuserprofilephotos",
    "setmydescription",
    "getmydescription",
    "setmyname",
    "getmyname",
    "setmessagereaction",
    "answerinlinequery",
    "pinchatmessage",
    "unpinchatmessage",
    "deletemessages",
    "copymessages",
}

_HTML_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
}
_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")


class ApiError(Exception):
    """An error answer, shaped exactly like Telegram's: HTTP status = error_code."""

    def __init__(self, code: int, description: str, parameters: Optional[JSON] = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(text: str) -> ApiError:
    return ApiError(400, f"Bad Request: {text}")


@dataclass
class ApiCall:
    """One request the bot made: which method, with which (decoded) parameters, when, and how it ended."""

    method: str
    params: JSON
    time: float
    status: int = 200
    result: Any = None
    # time.perf_counter() when the request arrived: a clock for measuring latencies (`time` is wall-clock).
    at: float = field(default_factory=time.perf_counter)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> Optional[Union[int, str]]:
        return self.params.get("chat_id")

    @property
    def text(self) -> str:
        """The human-readable text (HTML tags stripped, entities decoded) of a send/edit call, else ''."""
        raw = self.params.get("text") or self.params.get("caption") or ""
        if str(self.params.get("parse_mode", "")).lower() == "html":
            return _strip_html(raw)
        return str(raw)

    @property
    def message_id(self) -> Optional[int]:
        """The id of the message this call created or edited, when there is one."""
        if isinstance(self.result, dict) and "message_id" in self.result:
            return self.result["message_id"]
        return self.params.get("message_id")

    @property
    def buttons(self) -> List[Tuple[str, str]]:
        """(text, callback_data or url) of every inline button in this call's reply_markup, row by row."""
        markup = self.params.get("reply_markup") or {}
        found = []
        for row in markup.get("inline_keyboard", []):
            for button in row:
                found.append((button.get("text", ""), button.get("callback_data") or button.get("url", "")))
        return found


@dataclass
class _Failure:
    status: int
    retry_after: Optional[float]
    delay: float
    count: int


@dataclass
class _Chat:
    id: int
    first_name: str
    username: Optional[str] = None
    blocked: bool = False
    next_message_id: int = 1

    def as_json(self) -> JSON:
        chat: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        return chat

    def user_json(self) -> JSON:
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name, "language_code": "en"}
        if self.username:
            user["username"] = self.username
        return user


@dataclass
class _Webhook:
    url: str = ""
    secret_token: Optional[str] = None
    max_connections: int = 40
    allowed_updates: Optional[List[str]] = None
    last_error_date: Optional[int] = None
    last_error_message: Optional[str] = None


@dataclass
class _Poller:
    """A pending getUpdates long poll; a newer one terminates it with 409, as Telegram does."""

    wake: asyncio.Event = field(default_factory=asyncio.Event)
    terminated: bool = False


class _HtmlCheck(HTMLParser):
    """Rejects what Telegram rejects in parse_mode=HTML: unsupported tags and unbalanced ones."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: List[str] = []
        self.error: Optional[str] = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in _HTML_TAGS and self.error is None:
            self.error = f'Unsupported start tag "{tag}"'
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.error is None and (not self.stack or self.stack[-1] != tag):
            self.error = f'Unexpected end tag "{tag}"'
        elif self.stack:
            self.stack.pop()


def _check_entities(text: str, parse_mode: Optional[str]) -> None:
    """Raise the 400 Telegram gives for text that does not parse in the given parse_mode."""
    if not parse_mode:
        return
    mode = parse_mode.lower()
    if mode == "html":
        # A bare "<" that does not open a tag is an error in Telegram (it must be written &lt;).
        bare = re.search(r"<(?![a-zA-Z/])", text)
        if bare:
            raise _bad_request(f"can't parse entities: Unexpected character at byte offset {bare.start()}")
        checker = _HtmlCheck()
        checker.feed(text)
        checker.close()
        if checker.error:
            raise _bad_request(f"can't parse entities: {checker.error}")
        if checker.stack:
            raise _bad_request(
                f"can't parse entities: Can't find end tag corresponding to start tag \"{checker.stack[-1]}\""
            )
    elif mode == "markdownv2":
        escaped = False
        for char in text:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char in _MDV2_RESERVED and char not in "*_~`|[]()":
                raise _bad_request(
                    f"can't parse entities: Character '{char}' is reserved and must be escaped with the preceding '\\'"
                )
    elif mode != "markdown":
        raise _bad_request("unsupported parse_mode")


def _strip_html(text: str) -> str:
    return html.unescape(re.sub(r"</?[a-zA-Z][^>]*>", "", text))


def _coerce(params: Mapping[str, Any]) -> JSON:
    """Turn form/query strings into the types Telegram would parse them as."""
    out: JSON = {}
    for key, value in params.items():
        if isinstance(value, str):
            if key in _INT_PARAMS:
                with contextlib.suppress(ValueError):
                    value = int(value) if re.fullmatch(r"-?\d+", value) else value
            elif key in _BOOL_PARAMS:
                value = value.lower() in {"true", "1"}
            elif key in _JSON_PARAMS:
                try:
                    value = json.loads(value)
                except ValueError:
                    raise _bad_request(f"can't parse {key} JSON object") from None
        out[key] = value
    return out


def _command_entities(text: str) -> List[JSON]:
    """What the Telegram app attaches to a message starting with /command (PTB's CommandHandler needs it)."""
    match = re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?", text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": len(match.group(0))}]


class BotApiStandIn:
    """The stand-in server plus a test-friendly API. Use as ``async with BotApiStandIn(...) as tg``."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        port: int = 0,
        host: str = "127.0.0.1",
        bot_username: str = "AftercareClinicBot",
        strict_chats: bool = True,
    ) -> None:
        if not _TOKEN_SHAPE.match(token):
            raise ValueError("token must look like a real one, e.g. 123456:ABC-def")
        self.token = token
        self.host = host
        self.port = port
        self.bot_username = bot_username
        # Telegram answers "chat not found" to a chat that never talked to the bot; tests can relax that.
        self.strict_chats = strict_chats
        self.bot_user: JSON = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "Aftercare (stand-in)",
            "username": bot_username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: List[ApiCall] = []
        self._updates: List[JSON] = []  # not yet acknowledged
        self._update_ids = itertools.count(100_000_001)
        self._allowed_updates: List[str] = []
        self._chats: Dict[int, _Chat] = {}
        self._messages: Dict[Tuple[int, int], JSON] = {}
        self._open_queries: Dict[str, JSON] = {}
        self._query_ids = itertools.count(4_200_000_000_001)
        self._files: Dict[str, JSON] = {}
        self._commands: Dict[str, List[JSON]] = {}
        self._failures: Dict[str, List[_Failure]] = {}
        self._webhook = _Webhook()
        self._poller: Optional[_Poller] = None
        self._new_call = asyncio.Condition()
        self._new_update = asyncio.Event()
        self._listeners: List[Callable[[ApiCall], None]] = []
        self._runner: Optional[web.AppRunner] = None
        self._delivery: Optional[asyncio.Task] = None
        self._session: Optional[ClientSession] = None
        self._closing = False

    # --- lifecycle ----------------------------------------------------------------------------------------
    async def __aenter__(self) -> "BotApiStandIn":
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        # handler_cancellation: a long poll whose client went away is cancelled instead of lingering;
        # shutdown_timeout: do not wait a minute for open long polls when the test ends.
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._session = ClientSession(timeout=ClientTimeout(total=10))

    async def stop(self) -> None:
        if self._delivery:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
        self._closing = True
        if self._poller:  # answer the pending long poll (empty) instead of leaving it hanging
            self._poller.wake.set()
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """What to give PTB as base_url (it appends <token>/<method>)."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    # --- what the bot sent ---------------------------------------------------------------------------------
    def sent(self, method: Optional[str] = None, chat_id: Optional[int] = None) -> List[ApiCall]:
        """Successful calls, oldest first. Without `method`, getUpdates polling noise is left out."""
        return [
            call
            for call in self.calls
            if call.ok
            and (call.method == method if method else call.method != "getUpdates")
            and (chat_id is None or call.chat_id == chat_id)
        ]

    def attempts(self, method: str) -> List[ApiCall]:
        """Every call of `method`, including the ones answered with an injected failure."""
        return [call for call in self.calls if call.method == method]

    def mark(self) -> int:
        """A bookmark for wait_for_sent(since=...): only calls made after this point will match."""
        return len(self.calls)

    async def wait_for_sent(
        self,
        predicate: Optional[Callable[[ApiCall], bool]] = None,
        timeout: float = 5.0,
        *,
        method: Optional[str] = None,
        chat_id: Optional[int] = None,
        since: int = 0,
    ) -> ApiCall:
        """The first successful call (made after `since`) matching method/chat_id/predicate; waits for it."""

        def find() -> Optional[ApiCall]:
            for call in self.calls[since:]:
                if (
                    not call.ok
                    or (method and call.method != method)
                    or (chat_id is not None and call.chat_id != chat_id)
                ):
                    continue
                if method is None and call.method == "getUpdates":
                    continue
                if predicate is None or predicate(call):
                    return call
            return None

        async def wait() -> ApiCall:
            async with self._new_call:
                while True:
                    found = find()
                    if found:
                        return found
                    await self._new_call.wait()

        try:
            return await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            recent = [f"{c.method}({c.chat_id}) {c.status}" for c in self.calls[since:] if c.method != "getUpdates"]
            raise AssertionError(f"no matching Bot API call within {timeout}s; calls since mark: {recent}") from None

    def on_call(self, listener: Callable[[ApiCall], None]) -> None:
        """Run `listener(call)` after every successful call (the interactive terminal prints with it)."""
        self._listeners.append(listener)

    # --- failure injection -----------------------------------------------------------------------------------
    def fail_next(
        self, method: str, status: int, retry_after: Optional[float] = None, count: int = 1, delay: float = 0
    ) -> None:
        """Answer the next `count` calls of `method` with `status` (429 needs retry_after), after `delay` s.

        status=200 with a delay is a slow but successful answer (the call still takes effect after the delay,
        as with the real service when a client gives up waiting).
        """
        if status == 429 and retry_after is None:
            raise ValueError("a 429 needs retry_after (Telegram always sends parameters.retry_after)")
        self._failures.setdefault(method.lower(), []).append(_Failure(status, retry_after, delay, count))

    def _take_failure(self, method: str) -> Optional[_Failure]:
        queue = self._failures.get(method.lower())
        if not queue:
            return None
        failure = queue[0]
        failure.count -= 1
        if failure.count <= 0:
            queue.pop(0)
        return failure

    # --- chats and users ---------------------------------------------------------------------------------------
    def open_chat(self, chat_id: int, first_name: str = "Patient", username: Optional[str] = None) -> None:
        """Make a private chat exist, as if the user had pressed Start once."""
        chat = self._chats.get(chat_id)
        if chat is None:
            self._chats[chat_id] = _Chat(chat_id, first_name, username)
        else:
            chat.first_name, chat.username = first_name, username or chat.username

    def block(self, chat_id: int, blocked: bool = True) -> None:
        """The user blocked the bot: sending to them now fails with 403 Forbidden."""
        if chat_id not in self._chats:
            self.open_chat(chat_id)
        self._chats[chat_id].blocked = blocked

    def message(self, chat_id: int, message_id: int) -> Optional[JSON]:
        """The stored state of a message (after any edits), as Telegram would return it."""
        return self._messages.get((chat_id, message_id))

    def _chat(self, chat_id: int, user: Optional[Mapping[str, Any]] = None) -> _Chat:
        user = user or {}
        if chat_id not in self._chats:
            self.open_chat(chat_id, user.get("first_name", "Patient"), user.get("username"))
        elif user:
            self.open_chat(chat_id, user.get("first_name", self._chats[chat_id].first_name), user.get("username"))
        return self._chats[chat_id]

    def _new_message(self, chat: _Chat, sender: JSON, **content: Any) -> JSON:
        message: JSON = {
            "message_id": chat.next_message_id,
            "from": sender,
            "chat": chat.as_json(),
            "date": int(time.time()),
        }
        message.update({k: v for k, v in content.items() if v is not None})
        chat.next_message_id += 1
        self._messages[(chat.id, message["message_id"])] = message
        return message

    # --- injecting what users do ---------------------------------------------------------------------------------
    def _push(self, kind: str, payload: JSON) -> JSON:
        update = {"update_id": next(self._update_ids), kind: payload}
        self._updates.append(update)
        self._new_update.set()
        if self._poller:
            self._poller.wake.set()
        return update

    def inject_message(self, chat_id: int, user: Optional[Mapping[str, Any]] = None, **content: Any) -> JSON:
        """Any user message: pass its content fields (text=..., sticker={...}, location={...}, ...)."""
        chat = self._chat(chat_id, user)
        return self._push("message", self._new_message(chat, chat.user_json(), **content))

    def inject_update(self, update: JSON) -> JSON:
        """Any update, as raw Bot API JSON (the fuzz tests generate them): an update_id is given when missing, the
        chats it names become chats the bot can write to, and a callback query can be answered."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        for payload in update.values():
            if not isinstance(payload, dict):
                continue
            for chat in (payload.get("chat"), (payload.get("message") or {}).get("chat"), payload.get("from")):
                if isinstance(chat, dict) and isinstance(chat.get("id"), int) and chat["id"] not in self._chats:
                    self.open_chat(chat["id"], str(chat.get("first_name") or chat.get("title") or "Someone"))
            if "chat_instance" in payload and "id" in payload:  # a callback query
                self._open_queries[str(payload["id"])] = payload
        self._updates.append(update)
        self._new_update.set()
        if self._poller:
            self._poller.wake.set()
        return update

    def pending_updates(self) -> int:
        """Updates not yet acknowledged by the bot (getUpdates with a higher offset)."""
        return len(self._updates)

    def inject_text(self, chat_id: int, text: str, user: Optional[Mapping[str, Any]] = None) -> JSON:
        """The user typed `text` (a leading /command gets its bot_command entity, as from the app)."""
        return self.inject_message(chat_id, user, text=text, entities=_command_entities(text) or None)

    def inject_start(self, chat_id: int, payload: str = "", user: Optional[Mapping[str, Any]] = None) -> JSON:
        """The user opened a t.me/<bot>?start=<payload> link (or pressed Start)."""
        return self.inject_text(chat_id, f"/start {payload}".strip(), user)

    def inject_photo(
        self,
        chat_id: int,
        file_id: Optional[str] = None,
        caption: Optional[str] = None,
        user: Optional[Mapping[str, Any]] = None,
    ) -> JSON:
        """The user sent a photo; Telegram delivers several sizes, the largest last."""
        base = file_id or f"AgACAgPhoto{next(self._update_ids)}"
        sizes = []
        for index, (width, height) in enumerate([(90, 120), (320, 427), (960, 1280)]):
            this_id = base if index == 2 else f"{base}-{width}"
            sizes.append(
                {
                    "file_id": this_id,
                    "file_unique_id": f"u{this_id}"[:32],
                    "width": width,
                    "height": height,
                    "file_size": width * height // 10,
                }
            )
            self._files[this_id] = {
                "file_id": this_id,
                "file_unique_id": f"u{this_id}"[:32],
                "file_size": width * height // 10,
                "file_path": f"photos/{this_id}.jpg",
            }
        return self.inject_message(chat_id, user, photo=sizes, caption=caption)

    def inject_sticker(self, chat_id: int, emoji: str = "👍", user: Optional[Mapping[str, Any]] = None) -> JSON:
        file_id = f"CAACAgSticker{next(self._update_ids)}"
        return self.inject_message(
            chat_id,
            user,
            sticker={
                "file_id": file_id,
                "file_unique_id": file_id[-16:],
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji,
            },
        )

    def inject_voice(self, chat_id: int, duration: int = 4, user: Optional[Mapping[str, Any]] = None) -> JSON:
        file_id = f"AwACAgVoice{next(self._update_ids)}"
        self._files[file_id] = {
            "file_id": file_id,
            "file_unique_id": file_id[-16:],
            "file_size": 6000,
            "file_path": f"voice/{file_id}.oga",
        }
        return self.inject_message(
            chat_id,
            user,
            voice={"file_id": file_id, "file_unique_id": file_id[-16:], "duration": duration, "mime_type": "audio/ogg"},
        )

    def inject_edit(self, chat_id: int, message_id: int, text: str) -> JSON:
        """The user edited one of their earlier text messages."""
        original = self._messages.get((chat_id, message_id))
        if original is None or original["from"].get("is_bot"):
            raise LookupError(f"chat {chat_id} has no user message {message_id} to edit")
        original.update(text=text, edit_date=int(time.time()))
        return self._push("edited_message", dict(original))

    def press_button(self, chat_id: int, message_id: int, data: str, user: Optional[Mapping[str, Any]] = None) -> JSON:
        """The user pressed the inline button carrying callback `data` under the bot's message."""
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise LookupError(f"chat {chat_id} has no message {message_id}")
        available = [
            b.get("callback_data") for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row
        ]
        if data not in available:
            # A real user can only press buttons that are on screen; a test doing otherwise has a bug.
            raise LookupError(f"message {message_id} has no button with data {data!r} (it has {available})")
        chat = self._chat(chat_id, user)
        query = {
            "id": str(next(self._query_ids)),
            "from": chat.user_json(),
            "message": dict(message),
            "chat_instance": f"-{chat_id}77",
            "data": data,
        }
        self._open_queries[query["id"]] = query
        return self._push("callback_query", query)

    def last_buttons(self, chat_id: int) -> Tuple[Optional[int], List[Tuple[str, str]]]:
        """(message_id, [(text, data), ...]) of the latest bot message in the chat that has inline buttons."""
        for (cid, mid), message in sorted(self._messages.items(), reverse=True):
            keyboard = message.get("reply_markup", {}).get("inline_keyboard")
            if cid == chat_id and keyboard:
                return mid, [(b["text"], b.get("callback_data", "")) for row in keyboard for b in row]
        return None, []

    # --- HTTP -------------------------------------------------------------------------------------------------------
    async def _read_params(self, request: web.Request) -> JSON:
        params: JSON = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if not isinstance(body, dict):
                    raise _bad_request("request body must be a JSON object")
                params.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        params[key] = {"upload": value.filename, "bytes": value.file.read()}
                    else:
                        params[key] = value
        return _coerce(params)

    async def _handle(self, request: web.Request) -> web.Response:
        token, method_raw = request.match_info["token"], request.match_info["method"]
        if token != self.token:
            if _TOKEN_SHAPE.match(token):
                return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        method_key = method_raw.lower()  # Telegram method names are case-insensitive
        implementation = self._methods().get(method_key)
        if implementation is None:
            if method_key in _KNOWN_BUT_NOT_EMULATED:
                error = _bad_request(
                    f"{method_raw} is not emulated by the local stand-in (devtools/telegram_standin.py)"
                )
                return web.json_response(error.body(), status=400)
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        method, handler = implementation
        try:
            params = await self._read_params(request)
        except ApiError as error:
            return web.json_response(error.body(), status=error.code)
        call = ApiCall(method=method, params=params, time=time.time())
        failure = self._take_failure(method)
        try:
            if failure and failure.delay:
                await asyncio.sleep(failure.delay)
            if failure and failure.status != 200:
                raise self._injected_error(failure)
            call.result = await handler(params)
        except ApiError as error:
            call.status = error.code
            await self._record(call)
            return web.json_response(error.body(), status=error.code)
        await self._record(call)
        return web.json_response({"ok": True, "result": call.result})

    @staticmethod
    def _injected_error(failure: _Failure) -> ApiError:
        if failure.status == 429:
            seconds = int(failure.retry_after) if float(failure.retry_after or 0).is_integer() else failure.retry_after
            return ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
        descriptions = {
            400: "Bad Request: injected failure",
            403: "Forbidden: bot was blocked by the user",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
        }
        return ApiError(failure.status, descriptions.get(failure.status, f"Error {failure.status}"))

    async def _record(self, call: ApiCall) -> None:
        self.calls.append(call)
        async with self._new_call:
            self._new_call.notify_all()
        if call.ok:
            for listener in self._listeners:
                try:
                    listener(call)
                except Exception:  # a printing listener must never break the API
                    log.exception("stand-in listener failed")

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        path = request.match_info["path"]
        if not any(f.get("file_path") == path for f in self._files.values()):
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        return web.Response(
            body=b"\xff\xd8\xff stand-in file " + path.encode(), content_type="application/octet-stream"
        )

    def _methods(self) -> Dict[str, Tuple[str, Callable[[JSON], Awaitable[Any]]]]:
        table = {
            "getMe": self._get_me,
            "getChat": self._get_chat,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "close": self._true,
            "logOut": self._true,
        }
        return {name.lower(): (name, handler) for name, handler in table.items()}

    # --- methods ----------------------------------------------------------------------------------------------------
    async def _true(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return dict(self.bot_user)

    def _wanted(self, update: JSON) -> bool:
        kind = next(key for key in update if key != "update_id")
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in _OPT_IN_UPDATE_TYPES

    async def _get_updates(self, params: JSON) -> List[JSON]:
        if self._webhook.url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if "allowed_updates" in params and params["allowed_updates"] is not None:
            self._allowed_updates = list(params["allowed_updates"])  # sticky, as in Telegram
        offset = int(params.get("offset") or 0)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        limit = max(1, min(100, int(params.get("limit") or 100)))
        try:
            timeout = max(0.0, float(params.get("timeout") or 0))
        except (TypeError, ValueError):
            raise _bad_request("wrong parameter timeout") from None

        if self._poller:  # only one long poll at a time
            self._poller.terminated = True
            self._poller.wake.set()
        poller = self._poller = _Poller()
        deadline = time.monotonic() + timeout
        try:
            while True:
                ready = [u for u in self._updates if self._wanted(u)][:limit]
                if ready or self._closing or time.monotonic() >= deadline:
                    return ready
                poller.wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(poller.wake.wait(), deadline - time.monotonic())
                if poller.terminated:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only "
                        "one bot instance is running",
                    )
        finally:
            if self._poller is poller:
                self._poller = None

    def _target_chat(self, params: JSON) -> _Chat:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise _bad_request("chat_id is empty")
        if not isinstance(chat_id, int):
            raise _bad_request("chat not found")
        chat = self._chats.get(chat_id)
        if chat is None:
            if self.strict_chats:
                raise _bad_request("chat not found")
            self.open_chat(chat_id)
            chat = self._chats[chat_id]
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    @staticmethod
    def _check_markup(markup: Any) -> Optional[JSON]:
        if markup in (None, ""):
            return None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            for row in markup["inline_keyboard"]:
                for button in row:
                    if not button.get("text"):
                        raise _bad_request("text buttons are unallowed in the inline keyboard")
                    data = button.get("callback_data")
                    if data is not None and not 1 <= len(data.encode()) <= 64:
                        raise _bad_request("BUTTON_DATA_INVALID")
                    if data is None and "url" not in button:
                        raise _bad_request('can\'t parse inline keyboard button: Field "callback_data" is missing')
        return markup

    async def _send_message(self, params: JSON) -> JSON:
        chat = self._target_chat(params)
        text = params.get("text")
        if not text or not str(text).strip():
            raise _bad_request("message text is empty")
        text = str(text)
        _check_entities(text, params.get("parse_mode"))
        visible = _strip_html(text) if str(params.get("parse_mode", "")).lower() == "html" else text
        if len(visible) > 4096:
            raise _bad_request("message is too long")
        markup = self._check_markup(params.get("reply_markup"))
        # Only inline keyboards are part of the returned Message; reply keyboards live on the user's screen.
        inline = markup if markup and "inline_keyboard" in markup else None
        return self._new_message(chat, self._bot_sender(), text=visible, reply_markup=inline)

    async def _send_photo(self, params: JSON) -> JSON:
        chat = self._target_chat(params)
        photo = params.get("photo")
        if not photo:
            raise _bad_request("there is no photo in the request")
        file_id = f"AgACAgSent{next(self._update_ids)}"
        self._files[file_id] = {
            "file_id": file_id,
            "file_unique_id": file_id[-16:],
            "file_size": 1000,
            "file_path": f"photos/{file_id}.jpg",
        }
        caption = params.get("caption")
        if caption:
            _check_entities(str(caption), params.get("parse_mode"))
        markup = self._check_markup(params.get("reply_markup"))
        return self._new_message(
            chat,
            self._bot_sender(),
            photo=[{"file_id": file_id, "file_unique_id": file_id[-16:], "width": 800, "height": 600}],
            caption=_strip_html(caption) if caption else None,
            reply_markup=markup if markup and "inline_keyboard" in markup else None,
        )

    def _bot_sender(self) -> JSON:
        return {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")}

    async def _get_chat(self, params: JSON) -> JSON:
        """A chat the bot knows (ChatFullInfo's required fields); "chat not found" / 403 like the other calls."""
        chat = self._target_chat(params)
        return {
            **chat.as_json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _send_chat_action(self, params: JSON) -> bool:
        self._target_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if self._open_queries.pop(query_id, None) is None:
            raise _bad_request("query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text") or "")) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        return True

    def _editable(self, params: JSON) -> JSON:
        if params.get("inline_message_id"):
            raise _bad_request("inline messages are not emulated by the local stand-in")
        chat = self._target_chat(params)
        message = self._messages.get((chat.id, int(params.get("message_id") or 0)))
        if message is None:
            raise _bad_request("message to edit not found")
        if not message["from"].get("is_bot"):
            raise _bad_request("message can't be edited")
        return message

    async def _edit_message_text(self, params: JSON) -> JSON:
        message = self._editable(params)
        text = str(params.get("text") or "")
        if not text.strip():
            raise _bad_request("message text is empty")
        _check_entities(text, params.get("parse_mode"))
        visible = _strip_html(text) if str(params.get("parse_mode", "")).lower() == "html" else text
        markup = self._check_markup(params.get("reply_markup"))
        # Editing the text without passing reply_markup removes the inline keyboard, as in Telegram.
        if visible == message.get("text") and markup == message.get("reply_markup"):
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message["text"], message["edit_date"] = visible, int(time.time())
        self._set_markup(message, markup)
        return dict(message)

    async def _edit_message_reply_markup(self, params: JSON) -> JSON:
        message = self._editable(params)
        markup = self._check_markup(params.get("reply_markup"))
        if markup == message.get("reply_markup") or (
            markup == {"inline_keyboard": []} and "reply_markup" not in message
        ):
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message["edit_date"] = int(time.time())
        self._set_markup(message, markup)
        return dict(message)

    @staticmethod
    def _set_markup(message: JSON, markup: Optional[JSON]) -> None:
        if markup and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)

    async def _delete_message(self, params: JSON) -> bool:
        chat = self._target_chat(params)
        if self._messages.pop((chat.id, int(params.get("message_id") or 0)), None) is None:
            raise _bad_request("message to delete not found")
        return True

    async def _set_webhook(self, params: JSON) -> bool:
        url = str(params.get("url") or "")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad_request("secret token contains unallowed characters")
        if url and not re.match(r"https?://", url):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if params.get("allowed_updates") is not None:
            self._allowed_updates = list(params["allowed_updates"])
        self._webhook = _Webhook(
            url=url, secret_token=secret or None, max_connections=int(params.get("max_connections") or 40)
        )
        if self._delivery:
            self._delivery.cancel()
            self._delivery = None
        if url:
            if self._poller:
                self._poller.terminated = True
                self._poller.wake.set()
            self._delivery = asyncio.get_running_loop().create_task(self._deliver_to_webhook())
        return True

    async def _delete_webhook(self, params: JSON) -> bool:
        params = dict(params, url="")
        return await self._set_webhook(params)

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self._webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook.url:
            info["max_connections"] = self._webhook.max_connections
            info["ip_address"] = "127.0.0.1"
            if self._allowed_updates:
                info["allowed_updates"] = self._allowed_updates
        if self._webhook.last_error_date:
            info["last_error_date"] = self._webhook.last_error_date
            info["last_error_message"] = self._webhook.last_error_message
        return info

    async def _deliver_to_webhook(self) -> None:
        """While a webhook is set, POST each pending update to it, one at a time, retrying on failure."""
        webhook = self._webhook
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
        while True:
            pending = [u for u in self._updates if self._wanted(u)]
            if not pending:
                self._new_update.clear()
                await self._new_update.wait()
                continue
            update = pending[0]
            try:
                async with self._session.post(webhook.url, data=json.dumps(update), headers=headers) as response:
                    if 200 <= response.status < 300:
                        self._updates.remove(update)
                        continue
                    webhook.last_error_message = f"Wrong response from the webhook: {response.status} {response.reason}"
            except asyncio.CancelledError:
                raise
            except Exception as error:  # connection refused, timeout...
                webhook.last_error_message = f"Connection error: {type(error).__name__}"
            webhook.last_error_date = int(time.time())
            await asyncio.sleep(0.2)  # Telegram backs off much longer; loopback does not need to

    async def _get_file(self, params: JSON) -> JSON:
        info = self._files.get(str(params.get("file_id", "")))
        if info is None:
            raise _bad_request("invalid file_id")
        return dict(info)

    @staticmethod
    def _commands_key(params: JSON) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("commands must be a list of at most 100 BotCommand")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad_request("command description is empty")
        self._commands[self._commands_key(params)] = commands
        return True

    async def _get_my_commands(self, params: JSON) -> List[JSON]:
        return self._commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: JSON) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True


# --- standalone: a terminal in which a developer plays the patient or the practitioner ------------------------------
_TERMINAL_HELP = """Type a line to send it as the current person (a patient, chat 1001, to begin with).
Lines starting with ':' are stand-in commands:
    :patient [CHAT_ID]     speak as a patient (default chat 1001)
    :staff [CHAT_ID]       speak as a practitioner (default chat 2001)
    :press N               press button N of the last message with buttons in the current chat
    :photo [caption]       send a photo        :sticker   :voice   send a sticker / a voice note
    :edit NEW TEXT         edit your last text message
    :calls                 list the last Bot API calls      :help   :quit
"""


def _print_call(call: ApiCall) -> None:
    who = f"chat {call.chat_id}"
    if call.method in {"sendMessage", "sendPhoto"}:
        print(f"\n[bot → {who}] {call.text or '(photo)'}")
    elif call.method in {"editMessageText", "editMessageReplyMarkup"}:
        print(f"\n[bot edited message {call.params.get('message_id')} in {who}] {call.text}")
    elif call.method == "answerCallbackQuery" and call.params.get("text"):
        print(f"\n[bot popup] {call.params['text']}")
    else:
        return
    for number, (title, data) in enumerate(call.buttons, start=1):
        print(f"    [{number}] {title}   ({data})")


async def _interactive(standin: BotApiStandIn, patient_chat: int, staff_chat: int) -> None:
    standin.open_chat(patient_chat, "Pat (patient)")
    standin.open_chat(staff_chat, "Dr Sam (practitioner)")
    standin.on_call(_print_call)
    current = {"chat": patient_chat, "role": "patient"}
    last_text: Dict[int, int] = {}
    loop = asyncio.get_running_loop()
    print(_TERMINAL_HELP)
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        line = line.rstrip("\n")
        chat = current["chat"]
        if not line.startswith(":"):
            if line.strip():
                update = standin.inject_text(chat, line)
                last_text[chat] = update["message"]["message_id"]
            continue
        command, _, rest = line[1:].partition(" ")
        if command in {"quit", "q", "exit"}:
            return
        if command in {"patient", "staff"}:
            default = patient_chat if command == "patient" else staff_chat
            current.update(chat=int(rest) if rest.strip() else default, role=command)
            standin.open_chat(current["chat"], command.title())
            print(f"(now typing as {command}, chat {current['chat']})")
        elif command == "press":
            message_id, buttons = standin.last_buttons(chat)
            try:
                _, data = buttons[int(rest) - 1]
            except (ValueError, IndexError):
                print("(usage: :press N — N is the number shown next to the button)")
                continue
            standin.press_button(chat, message_id, data)  # type: ignore[arg-type]
        elif command == "photo":
            standin.inject_photo(chat, caption=rest or None)
        elif command == "sticker":
            standin.inject_sticker(chat)
        elif command == "voice":
            standin.inject_voice(chat)
        elif command == "edit" and chat in last_text:
            standin.inject_edit(chat, last_text[chat], rest)
        elif command == "calls":
            for call in standin.calls[-15:]:
                print(
                    f"  {time.strftime('%H:%M:%S', time.localtime(call.time))} {call.method} "
                    f"chat={call.chat_id} status={call.status}"
                )
        else:
            print(_TERMINAL_HELP)


async def _serve(args: argparse.Namespace) -> None:
    async with BotApiStandIn(token=args.token, port=args.port, host=args.host) as standin:
        print(f"Telegram Bot API stand-in on {standin.base_url} (token {args.token}).")
        print(f"Start the bot with: TELEGRAM_BOT_TOKEN={args.token} TELEGRAM_API_BASE_URL={standin.base_url}")
        if args.no_input:
            await asyncio.Event().wait()
        else:
            await _interactive(standin, args.patient_chat, args.staff_chat)


def main(argv: Optional[Iterable[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="Local stand-in for the Telegram Bot API (for offline use).")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--token", default="123456:LOCAL-standin")
    parser.add_argument("--patient-chat", type=int, default=1001)
    parser.add_argument("--staff-chat", type=int, default=2001)
    parser.add_argument("--no-input", action="store_true", help="serve only; no interactive terminal")
    args = parser.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(level=logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
