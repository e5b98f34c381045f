"""A loopback Telegram Bot API server (PROTOCOLS.md section 7): `{base}/bot{token}/{method}`, form-encoded or
multipart parameters with nested objects as JSON strings, answers `{"ok": true, "result": ...}` with real objects
and errors `{"ok": false, "error_code", "description", "parameters": {"retry_after"}}` with the HTTP status of the
error code, as api.telegram.org does.

    async with FakeTelegram() as fake:
        settings = settings.model_copy(update=fake.settings_update())
        fake.push_update(fake.private_message(42, "hello"))      # for getUpdates (polling)
        await fake.deliver(update)                               # to the webhook set with setWebhook
        fake.fail_next("editMessageText", 429, retry_after=2)    # or "message is not modified", etc.
        fake.calls, fake.texts(42), fake.drafts[42]

It keeps the chats' messages (HTML parse mode checked and reduced to its visible text by tests.fakes.telegram_html;
over 4096 UTF-16 units, empty, or an edit that changes nothing are refused with the real descriptions), holds
getUpdates long polls (a second concurrent poll ends the first with 409, a set webhook refuses polling with 409),
and records every call with its time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from pydantic import SecretStr

from tests.fakes._loopback import LoopbackApp
from tests.fakes.telegram_html import EntityError, utf16_length, visible_text
from tests.fakes.telegram_updates import UpdateFactory

TOKEN = "123456789:AAHfakeTokenForTests_0123456789abcdef"
MAX_TEXT = 4096
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as "
    "a current content and reply markup of the message"
)
POLL_CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic()


@dataclass
class Sent:
    message_id: int
    text: str  # visible text
    markup: str  # what was sent
    parse_mode: str | None
    reply_markup: Any = None
    reply_to: int | None = None


@dataclass
class Failure:
    method: str
    code: int
    description: str
    retry_after: int | None
    times: int


@dataclass
class FakeState:
    chats: dict[int, dict[int, Sent]] = field(default_factory=dict)
    drafts: dict[int, dict[int, str]] = field(default_factory=dict)
    commands: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)
    webhook: dict[str, Any] | None = None


class FakeTelegram(LoopbackApp, UpdateFactory):
    handler_cancellation = True  # a poller that hangs up ends its long poll, as with api.telegram.org

    def __init__(self, token: str = TOKEN, username: str = "chatgate_test_bot") -> None:
        LoopbackApp.__init__(self)
        UpdateFactory.__init__(self, bot_id=int(token.split(":")[0]), username=username)
        self.token = token
        self.calls: list[ApiCall] = []
        self.errors: list[tuple[str, int, str]] = []  # (method, error_code, description) of every error answered
        self.state = FakeState()
        self.updates: list[dict[str, Any]] = []
        self.conflicts = 0
        self.max_concurrent_polls = 0
        self._failures: list[Failure] = []
        self._polls: list[asyncio.Future[None]] = []
        self._arrived = asyncio.Event()
        self._next_message_id = 1000

    # --- set-up and inspection -------------------------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/bot{token}/{method}", self._handle)]

    def settings_update(self) -> dict[str, Any]:
        return {"TELEGRAM_BOT_TOKEN": SecretStr(self.token), "TELEGRAM_API_BASE": self.url}

    def fail_next(
        self, method: str, code: int = 400, description: str = "", *, retry_after: int | None = None, times: int = 1
    ) -> None:
        """Answer the next `times` calls of `method` with this error (429 gets "retry after N" by default)."""
        if code == 429 and not description:
            description = f"Too Many Requests: retry after {retry_after or 1}"
        self._failures.append(Failure(method, code, description, retry_after, times))

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates."""
        self.updates.append(update)
        self._arrived.set()

    async def deliver(self, update: dict[str, Any], secret: str | None = None) -> int:
        """POST an update to the webhook as Telegram does (with its secret header); return the HTTP status."""
        assert self.state.webhook is not None, "no webhook set"
        secret = self.state.webhook.get("secret_token", "") if secret is None else secret
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                self.state.webhook["url"], json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
            ) as response,
        ):
            return response.status

    def calls_to(self, *methods: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method in methods]

    def texts(self, chat_id: int) -> list[str]:
        """Return the visible texts of a chat's messages from the bot, oldest first, as they are now."""
        return [sent.text for sent in self.state.chats.get(chat_id, {}).values()]

    def sent(self, chat_id: int) -> list[Sent]:
        return list(self.state.chats.get(chat_id, {}).values())

    # --- the API ---------------------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        self.calls.append(ApiCall(method, params, time.monotonic()))
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            self._injected(method)
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(params)
        except ApiError as error:
            self.errors.append((method, error.code, error.description))
            body: dict[str, Any] = {"ok": False, "error_code": error.code, "description": error.description}
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            return web.Response(status=error.code, body=orjson.dumps(body), content_type="application/json")
        return web.Response(body=orjson.dumps({"ok": True, "result": result}), content_type="application/json")

    def _injected(self, method: str) -> None:
        for failure in self._failures:
            if failure.method == method and failure.times > 0:
                failure.times -= 1
                raise ApiError(failure.code, failure.description, failure.retry_after)

    async def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}  # fmt: skip

    async def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        if not str(params.get("url", "")).startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.state.webhook = params
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.state.webhook = None
        if params.get("drop_pending_updates") is True:
            self.updates.clear()
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        url = (self.state.webhook or {}).get("url", "")
        return {"url": url, "has_custom_certificate": False, "pending_update_count": len(self.updates)}

    async def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands") or []
        for command in commands:
            name, description = command.get("command", ""), command.get("description", "")
            if not (1 <= len(name) <= 32 and name.replace("_", "").isalnum() and name.islower()):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        scope = (params.get("scope") or {}).get("type", "default")
        self.state.commands[(scope, params.get("language_code", ""))] = commands
        return True

    async def _m_sendChatAction(self, params: dict[str, Any]) -> bool:
        _chat_id(params)
        return True

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params)
        text, markup = _checked_text(params), str(params.get("text", ""))
        reply_to = (params.get("reply_parameters") or {}).get("message_id")
        self._next_message_id += 1
        sent = Sent(self._next_message_id, text, markup, params.get("parse_mode"), params.get("reply_markup"), reply_to)
        self.state.chats.setdefault(chat_id, {})[sent.message_id] = sent
        return self.message_object(chat_id, sent.message_id, text, reply_markup=sent.reply_markup)

    async def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params)
        sent = self.state.chats.get(chat_id, {}).get(int(params.get("message_id", 0)))
        if sent is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        text = _checked_text(params)
        if text == sent.text and params.get("reply_markup") == sent.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        sent.text, sent.markup, sent.parse_mode = text, str(params["text"]), params.get("parse_mode")
        sent.reply_markup = params.get("reply_markup")
        message = self.message_object(chat_id, sent.message_id, text, reply_markup=sent.reply_markup)
        return {**message, "edit_date": int(time.time())}

    async def _m_sendMessageDraft(self, params: dict[str, Any]) -> bool:
        chat_id = _chat_id(params)
        if chat_id < 0:
            raise ApiError(400, "Bad Request: TEXTDRAFT_PEER_INVALID")
        draft_id = int(params.get("draft_id", 0))
        if not draft_id:
            raise ApiError(400, "Bad Request: draft_id must be non-zero")
        text = _checked_text(params, allow_empty=True)
        self.state.drafts.setdefault(chat_id, {})[draft_id] = text
        return True

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.state.webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        for earlier in self._polls:
            if not earlier.done():
                self.conflicts += 1
                earlier.set_result(None)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._polls = [poll for poll in self._polls if not poll.done()] + [mine]
        self.max_concurrent_polls = max(self.max_concurrent_polls, len(self._polls))
        try:
            return await self._wait_for_updates(params, mine)
        finally:
            self._polls.remove(mine)

    async def _wait_for_updates(self, params: dict[str, Any], mine: asyncio.Future[None]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0) or 0)
        if offset:
            self.updates = [update for update in self.updates if update["update_id"] >= offset]
        deadline = time.monotonic() + float(params.get("timeout", 0) or 0)
        while not self.updates and time.monotonic() < deadline:
            self._arrived.clear()
            waiter = asyncio.ensure_future(self._arrived.wait())
            await asyncio.wait({waiter, mine}, timeout=deadline - time.monotonic(), return_when="FIRST_COMPLETED")
            waiter.cancel()
            if mine.done():
                raise ApiError(409, POLL_CONFLICT)
        return self.updates[: int(params.get("limit", 100) or 100)]


async def _params(request: web.Request) -> dict[str, Any]:
    """Read a Bot API call's parameters: query, form or JSON; nested objects arrive as JSON strings."""
    raw: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        raw.update(await request.json())
    elif request.can_read_body:
        raw.update({key: value for key, value in (await request.post()).items() if isinstance(value, str)})
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if (isinstance(value, str) and value[:1] in ("{", "[")) or value in ("true", "false"):
            with contextlib.suppress(orjson.JSONDecodeError):
                value = orjson.loads(value)
        params[key] = value
    return params


def _chat_id(params: dict[str, Any]) -> int:
    try:
        return int(params["chat_id"])
    except (KeyError, ValueError):
        raise ApiError(400, "Bad Request: chat not found") from None


def _checked_text(params: dict[str, Any], allow_empty: bool = False) -> str:
    """Return the visible text of a call's `text`, or raise the Bot API's error for it."""
    markup = str(params.get("text", ""))
    try:
        text = visible_text(markup) if str(params.get("parse_mode", "")).upper() == "HTML" else markup
    except EntityError as error:
        raise ApiError(400, f"Bad Request: {error}") from None
    text = text.strip()
    if not text and not allow_empty:
        raise ApiError(400, "Bad Request: message text is empty")
    if utf16_length(text) > MAX_TEXT:
        raise ApiError(400, "Bad Request: message is too long")
    return text
