"""Hypercorn's connections, cheaper per request: writes coalesced, idleness kept by a timer.

One send() per response piece batch: the bytes Hypercorn writes for a connection in one turn of the event loop go
to the socket together.

Hypercorn writes every piece of a response as soon as it is made: the status line and headers, each body chunk,
the chunked body's closing `0\\r\\n\\r\\n`, each a send() of its own, and on a loopback or a virtual machine's network a
send() costs tens of microseconds (the peer is woken for each). A streamed answer whose first chunk is ready with
its headers, and whose last chunk comes with the end of the body, is four sends where two do. Here a connection's
writes are queued and sent once, at the end of the loop turn that made them (callbacks queued with `call_soon` run
before the loop next waits for I/O, so nothing waits for more data: a piece is never held back for a later one).
Back-pressure stays Hypercorn's (`drain()` after each piece); closing sends what is queued first.

Idleness is kept by a timer too. Hypercorn marks a keep-alive connection idle after each response and busy at each
request, and did so by starting a task that waits for the keep-alive timeout or the server's end (a task inside a
task, with a lock) and cancelling it at the next request: ~25 µs per request. Here idle arms one `call_later` for the
keep-alive timeout and busy cancels it; the connection's one long-lived watcher closes it at once when the server
stops while it is idle, and a connection busy when the server stops closes after its response, as before.

`install_coalesced_writes()` gives Hypercorn's asyncio worker this connection class (idempotent); `chatgate serve`
calls it before serving.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypercorn.asyncio import run as hypercorn_run
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.events import Closed, Event, RawData, Updated


class CoalescingTCPServer(TCPServer):
    """Hypercorn's connection, with the writes of one loop turn sent together and idleness kept by a timer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queued: list[bytes] = []
        self._closing: asyncio.Task[None] | None = None
        # Idle from the start (until the first request): armed now, before any byte is read.
        self._idle_timer: asyncio.TimerHandle | None = self.loop.call_later(
            self.config.keep_alive_timeout, self._close_idle
        )

    async def protocol_send(self, event: Event) -> None:
        if isinstance(event, Updated):
            return self._set_idle(event.idle)
        if not isinstance(event, RawData):
            return await super().protocol_send(event)
        async with self.send_lock:
            if not self._queued:
                self.loop.call_soon(self._flush)
            self._queued.append(event.data)
            try:
                await self.writer.drain()  # waits while the peer is behind, as Hypercorn's own write does
            except (ConnectionError, RuntimeError):
                await self.protocol.handle(Closed())

    def _flush(self) -> None:
        queued, self._queued = self._queued, []
        if queued and not self.writer.is_closing():
            self.writer.write(b"".join(queued) if len(queued) > 1 else queued[0])

    def _set_idle(self, idle: bool) -> None:
        """Idle: close after the keep-alive timeout (at once if the server is stopping). Busy: not."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if idle:
            if self.context.terminated.is_set():
                self._close_idle()
            else:
                self._idle_timer = self.loop.call_later(self.config.keep_alive_timeout, self._close_idle)

    def _close_idle(self) -> None:
        self._idle_timer = None
        if self._closing is None:
            self._closing = self.loop.create_task(self._initiate_server_close())

    async def _idle_timeout(self) -> None:
        """The connection's one watcher of the server's end (Hypercorn starts it once, when the connection opens):
        a connection idle then is closed at once (a busy one closes after its response: `_set_idle`)."""
        await self.context.terminated.wait()
        if self._idle_timer is not None:
            self._set_idle(False)
            self._close_idle()

    async def _close(self) -> None:
        self._flush()  # what was queued goes out before the end of the stream
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        await super()._close()


def install_coalesced_writes() -> None:
    """Make Hypercorn's asyncio worker serve connections with coalesced writes (once per process)."""
    if hypercorn_run.TCPServer is not CoalescingTCPServer:
        hypercorn_run.TCPServer = CoalescingTCPServer  # type: ignore[misc]
