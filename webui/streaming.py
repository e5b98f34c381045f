"""Streamed chat answers as response bodies that always close their ChatStream.

A chat answer holds an upstream connection and an unsettled charge until its `ChatStream` is closed. Quart closes a
response body when it finishes sending it, but a caller that hangs up between the handler's return and the first
byte (while the response start is being sent) would leave the body never entered: an async generator body never
runs its `finally`, so the upstream would be released only by the garbage collector and the call never settled.
`ChatBody` is a plain async iterator whose `aclose()` closes the stream whether or not it started, and
`ClosingHTTPConnection` (the web app's `asgi_http_class`) closes a `ChatBody` that was never sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quart import Response
from quart.asgi import ASGIHTTPConnection

from core.chat.events import ChatEvent, ChatStream

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffering either


class ChatBody:
    """The bytes of a streamed answer, `render(event)` for each event (empty or None: nothing to send).

    With `held_to_end`, the pieces it matches (an OpenAI stream's last: it ends in [DONE]) wait for the end of the
    answer, i.e. its settlement, and go out with the end of the body."""

    __slots__ = ("_closed", "_events", "_held", "_held_to_end", "_render", "_stream")

    def __init__(
        self,
        stream: ChatStream,
        render: Callable[[ChatEvent], bytes | None],
        held_to_end: Callable[[bytes], bool] | None = None,
    ) -> None:
        self._stream = stream
        self._events = stream.__aiter__()
        self._render = render
        self._held_to_end = held_to_end
        self._held = b""
        self._closed = False

    def __aiter__(self) -> ChatBody:
        return self

    async def __anext__(self) -> bytes:
        events, render = self._events, self._render
        while True:
            try:
                event = await events.__anext__()
            except StopAsyncIteration:
                if not self._held:
                    raise  # ends the body
                held, self._held = self._held, b""
                return held
            data = render(event)
            if data:
                if self._held_to_end is not None and self._held_to_end(data):
                    self._held += data
                    continue
                return data

    async def aclose(self) -> None:
        """Stop the answer and settle it; once, started or not."""
        if not self._closed:
            self._closed = True
            await self._stream.aclose()


def stream_response(
    stream: ChatStream,
    render: Callable[[ChatEvent], bytes | None],
    held_to_end: Callable[[bytes], bool] | None = None,
) -> Response:
    """Return the text/event-stream response of a chat answer, without Quart's response timeout."""
    body = ChatBody(stream, render, held_to_end)
    response = Response(body, content_type="text/event-stream", headers=STREAM_HEADERS)
    response.timeout = None  # the answer streams as long as the model writes; idle timeouts are the relay's
    return response


class ClosingHTTPConnection(ASGIHTTPConnection):
    """Quart's HTTP connection that also closes a chat body the caller left before it was sent."""

    async def _send_response(self, send: Any, response: Any) -> None:
        try:
            await super()._send_response(send, response)
        finally:
            body = getattr(getattr(response, "response", None), "iter", None)
            if isinstance(body, ChatBody):
                await body.aclose()  # a no-op when Quart already closed it after the last byte
