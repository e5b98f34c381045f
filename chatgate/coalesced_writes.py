"""One send() per response piece batch: the bytes Hypercorn writes for a connection in one turn of the event loop go
to the socket together.

Hypercorn writes every piece of a response as soon as it is made: the status line and headers, each body chunk,
the chunked body's closing `0\\r\\n\\r\\n`, each a send() of its own, and on a loopback or a virtual machine's network a
send() costs tens of microseconds (the peer is woken for each). A streamed answer whose first chunk is ready with
its headers, and whose last chunk comes with the end of the body, is four sends where two do. Here a connection's
writes are queued and sent once, at the end of the loop turn that made them (callbacks queued with `call_soon` run
before the loop next waits for I/O, so nothing waits for more data: a piece is never held back for a later one).
Back-pressure stays Hypercorn's (`drain()` after each piece); closing sends what is queued first.

`install_coalesced_writes()` gives Hypercorn's asyncio worker this connection class (idempotent); `chatgate serve`
calls it before serving.
"""

from __future__ import annotations

from typing import Any

from hypercorn.asyncio import run as hypercorn_run
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.events import Closed, Event, RawData


class CoalescingTCPServer(TCPServer):
    """Hypercorn's connection, with the writes of one loop turn sent together."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queued: list[bytes] = []

    async def protocol_send(self, event: Event) -> None:
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

    async def _close(self) -> None:
        self._flush()  # what was queued goes out before the end of the stream
        await super()._close()


def install_coalesced_writes() -> None:
    """Make Hypercorn's asyncio worker serve connections with coalesced writes (once per process)."""
    if hypercorn_run.TCPServer is not CoalescingTCPServer:
        hypercorn_run.TCPServer = CoalescingTCPServer  # type: ignore[misc]
