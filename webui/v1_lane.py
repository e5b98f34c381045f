"""The /v1 fast lane: `POST /v1/chat/completions` with a remembered API key, served at the ASGI level.

Quart's request machinery (request and response objects, two tasks per request, the app's before/after hooks) is
an eighth to two fifths of a bare pass-through's CPU per request (benchmarks/README.md, `relay_overhead.py --raw`).
The one call an OpenAI client makes over and over skips it: this middleware reads the body, runs the same core
fast path as webui.v1 (core.chat.api_key_fast_path: one store round trip before the upstream) and writes the answer
itself with what the Quart path would have added: the request id, the rate-limit headers, `nosniff` (and HSTS),
gzip of a big JSON answer, the HTTP metrics, OpenAI's error shape (a body that does not come in time: 408).

Everything else goes to Quart unchanged: other paths, a browser's cross-origin call (`Origin`: CORS is Quart's), a
key this process has not seen yet, a body that is not JSON or over V1_MAX_BODY_BYTES, and whatever the fast path
declines (it takes nothing then) — with the body already read replayed to Quart. The caller hanging up stops the
answer and its upstream at once, as on the Quart path.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from quart import Quart, Response
from werkzeug.exceptions import RequestTimeout
from werkzeug.http import parse_accept_header

from core import errors
from core.accounts.api_keys import remembered_api_key
from core.chat.api_key_fast_path import relay_api_key_chat
from core.chat.events import ChatStream
from core.chat.request import ChatRequest
from core.logs import new_request_id, request_id
from core.services import Services
from core.store.connection import STORE_ERRORS
from web.compression import LEVEL, MIN_BYTES
from web.errors import store_unavailable
from web.security import HSTS_VALUE
from web.tracing import count_request
from web.validation import is_json_mimetype
from webui.auth import bearer_api_key
from webui.streaming import STREAM_HEADERS
from webui.v1 import READ_CHAT, completion_body, ends_answer
from webui.v1_http import HTTP_CODES, core_error_response, openai_error, rate_header_values

log = logging.getLogger(__name__)

Scope = Any  # ASGI's typed dicts: read here by key only
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]

PATH = "/v1/chat/completions"
WHERE = f"POST {PATH}"


class V1Lane:
    """ASGI middleware in front of the web app (its `asgi_app`)."""

    def __init__(self, app: Quart, inner: ASGIApp, services: Services) -> None:
        self._app = app
        self._inner = inner
        self._services = services
        settings = services.settings
        self._limit = settings.V1_MAX_BODY_BYTES
        self._body_timeout = float(app.config.get("BODY_TIMEOUT") or 60)
        self._fixed = [(b"x-content-type-options", b"nosniff")]
        if settings.DOMAIN.startswith("https://"):
            self._fixed.append((b"strict-transport-security", HSTS_VALUE.encode()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            return await self._inner(scope, receive, send)
        headers = dict(scope["headers"])  # a repeated header keeps its last value: only the fallback reads those
        key = bearer_api_key(headers.get(b"authorization", b"").decode("latin-1"))
        length = headers.get(b"content-length")
        if (
            key is None
            or b"origin" in headers
            or not remembered_api_key(self._services.store, key)
            or not is_json_mimetype(_mimetype(headers.get(b"content-type", b"")))
            or (length is not None and (not length.isdigit() or int(length) > self._limit))
        ):
            return await self._inner(scope, receive, send)
        try:
            body, complete = await self._read_body(receive)
        except TimeoutError:  # as Quart answers a body that does not arrive within BODY_TIMEOUT
            timeout = RequestTimeout()
            response = openai_error(408, timeout.description or timeout.name, HTTP_CODES.get(408, "http_error"))
            return await self._send_error(send, response, new_request_id(), time.monotonic())
        if not complete:
            return await self._inner(scope, _replay(body, receive, more=True), send)
        await self._serve(scope, receive, send, headers, key, body)

    async def _read_body(self, receive: Receive) -> tuple[bytes, bool]:
        """Read the body; `complete` False when it grew past the limit (the rest is left for Quart's 413)."""
        parts: list[bytes] = []
        size = 0
        async with asyncio.timeout(self._body_timeout):
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return b"".join(parts), False  # the caller left: Quart sees the disconnect
                part = message.get("body", b"")
                size += len(part)
                parts.append(part)
                if size > self._limit:
                    return b"".join(parts), False
                if not message.get("more_body", False):
                    return b"".join(parts), True

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, bytes], key: str, body: bytes
    ) -> None:
        try:
            data = orjson.loads(body)
            chat = ChatRequest.from_openai(data) if isinstance(data, dict) else None
        except (orjson.JSONDecodeError, errors.CoreError):
            chat = None
        if chat is None:
            return await self._inner(scope, _replay(body, receive), send)
        started = time.monotonic()
        traced = new_request_id(headers.get(b"x-request-id", b"").decode("latin-1") or None)
        request_id.set(traced)
        svc = self._services
        try:
            done = await relay_api_key_chat(svc, key, chat)
        except Exception as error:
            return await self._send_error(send, _error_response(error), traced, started)
        if done is None:
            scope[READ_CHAT] = chat  # read once: its token counts too
            return await self._inner(scope, _replay(body, receive), send)
        svc.metrics.inc("chatgate_channel_messages_total", channel="api", direction="in")
        if done.error is not None:
            return await self._send_error(send, core_error_response(done.error, WHERE), traced, started)
        assert done.stream is not None
        await self._answer(receive, send, headers, chat, done.stream, traced, started)

    async def _answer(
        self, receive: Receive, send: Send, headers: dict[bytes, bytes], chat: ChatRequest, stream: ChatStream,
        traced: str, started: float,
    ) -> None:  # fmt: skip
        """Send the answer; the caller hanging up cancels this task (and so closes the stream and its upstream)."""
        task = asyncio.current_task()
        assert task is not None
        watcher = asyncio.ensure_future(_cancel_on_disconnect(receive, task))
        try:
            try:
                if chat.stream:
                    await self._send_stream(send, stream, traced, started)
                else:
                    await self._send_completion(send, headers, stream, traced, started)
            finally:
                watcher.cancel()
                await stream.aclose()
        except asyncio.CancelledError:
            if not (watcher.done() and not watcher.cancelled() and watcher.result()):
                raise  # not the caller leaving: the server is stopping
            task.uncancel()

    async def _send_stream(self, send: Send, stream: ChatStream, traced: str, started: float) -> None:
        """Forward each piece as it comes; the last one (ending in [DONE]) goes with the end of the body, once the
        answer is settled: the caller sees the end of an answer only when its usage is counted and its stream slot
        free, and the last bytes leave in one write. The headers leave with the first piece (already read), or with
        the whole answer when it came in one read."""
        headers: dict[str, str] | None = {"content-type": "text/event-stream", **STREAM_HEADERS, **_rates(stream)}
        last = b""
        try:
            async for event in stream:
                raw = getattr(event, "raw", None)  # ChatDelta and ChatError carry the upstream's bytes
                if not raw:
                    continue
                if ends_answer(raw):
                    last += raw
                    continue
                if headers is not None:
                    await self._start(send, 200, headers, traced, started)
                    headers = None
                await send({"type": "http.response.body", "body": raw, "more_body": True})
        except Exception:
            log.exception("a /v1 stream failed before its end")
        if headers is not None:
            await self._start(send, 200, headers, traced, started)
        await send({"type": "http.response.body", "body": last, "more_body": False})

    async def _send_completion(
        self, send: Send, headers: dict[bytes, bytes], stream: ChatStream, traced: str, started: float
    ) -> None:
        try:
            body = await completion_body(stream)
        except Exception as error:
            return await self._send_error(send, _error_response(error), traced, started)
        fields = {"content-type": "application/json", **_rates(stream), "vary": "Accept-Encoding"}
        if len(body) >= MIN_BYTES and _accepts_gzip(headers.get(b"accept-encoding", b"")):
            body = gzip.compress(body, compresslevel=LEVEL, mtime=0)
            fields["content-encoding"] = "gzip"
        fields["content-length"] = str(len(body))
        await self._start(send, 200, fields, traced, started)
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _send_error(self, send: Send, response: Response, traced: str, started: float) -> None:
        body = await response.get_data()
        response.headers["Content-Length"] = str(len(body))
        await self._start(send, response.status_code, dict(response.headers.items()), traced, started)
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _start(self, send: Send, status: int, fields: dict[str, str], traced: str, started: float) -> None:
        """Send the status and headers, and count the request as the Quart path's tracing does."""
        headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in fields.items()]
        headers += self._fixed
        headers.append((b"x-request-id", traced.encode()))
        count_request(self._services.metrics, self._app.name, PATH, "POST", status, started)
        await send({"type": "http.response.start", "status": status, "headers": headers})


def _mimetype(content_type: bytes) -> str:
    return content_type.split(b";", 1)[0].strip().lower().decode("latin-1")


def _accepts_gzip(value: bytes) -> bool:
    """Whether an Accept-Encoding accepts gzip (as `request.accept_encodings["gzip"] > 0` on the Quart path)."""
    return parse_accept_header(value.decode("latin-1"))["gzip"] > 0


def _replay(body: bytes, receive: Receive, more: bool = False) -> Receive:
    """A receive that gives the body already read first, then the caller's own messages."""
    sent = False

    async def replayed() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replayed


def _rates(stream: ChatStream) -> dict[str, str]:
    return rate_header_values(stream.rate) if stream.rate is not None else {}


def _error_response(error: Exception) -> Response:
    """The answer webui.v1_http's error handlers give to an error raised by the /v1 handler."""
    if isinstance(error, errors.CoreError):
        return core_error_response(error, WHERE)
    if isinstance(error, STORE_ERRORS):
        return core_error_response(store_unavailable(error), WHERE)
    log.error("unhandled error in /v1", exc_info=error)
    return openai_error(500, "The server had an error while processing your request.", "internal_error")


async def _cancel_on_disconnect(receive: Receive, task: asyncio.Task[Any]) -> bool:
    """Cancel the answering task when the caller hangs up; True once it did."""
    while (await receive())["type"] != "http.disconnect":
        pass
    task.cancel()
    return True
