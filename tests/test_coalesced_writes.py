"""Hypercorn's writes of one loop turn go out in one send(), and nothing is held back for a later turn."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from chatgate.coalesced_writes import CoalescingTCPServer
from tests.chat_support import serve_app

REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


class App:
    """An ASGI app streaming three chunks: the first two with the headers, the last when `go` is set."""

    def __init__(self) -> None:
        self.go = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"one,", "more_body": True})
        await send({"type": "http.response.body", "body": b"two,", "more_body": True})
        await self.go.wait()
        await send({"type": "http.response.body", "body": b"three", "more_body": False})


@pytest.fixture
def sends(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Each send() the server's connections make (what `_flush` hands the socket)."""
    made: list[bytes] = []
    flush = CoalescingTCPServer._flush

    def recorded(self: CoalescingTCPServer) -> None:
        if self._queued:
            made.append(b"".join(self._queued))
        flush(self)

    monkeypatch.setattr(CoalescingTCPServer, "_flush", recorded)
    return made


async def read_until(client: socket.socket, marker: bytes, seen: bytes = b"") -> bytes:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(5):
        while marker not in seen:
            seen += await loop.sock_recv(client, 65536)
    return seen


async def test_the_pieces_of_one_turn_go_out_together_and_none_waits_for_a_later_turn(sends: list[bytes]) -> None:
    app = App()
    async with serve_app(app) as url:  # type: ignore[arg-type]  # any ASGI app
        port = int(url.rsplit(":", 1)[1])
        loop = asyncio.get_running_loop()
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.setblocking(False)
            await loop.sock_sendall(client, REQUEST)
            first = await read_until(client, b"two,")  # arrives while the app still waits: not held back
            assert first.startswith(b"HTTP/1.1 200 OK\r\n")
            assert len(sends) == 1 and sends[0] == first  # the headers and both chunks: one send()
            app.go.set()
            rest = await read_until(client, b"0\r\n\r\n")
            assert b"three" in rest
            assert len(sends) == 2 and sends[1] == rest  # the last chunk with the end of the body: one send()


async def test_a_closed_connection_gets_what_was_queued_first() -> None:
    app = App()
    app.go.set()
    async with serve_app(app) as url:  # type: ignore[arg-type]
        port = int(url.rsplit(":", 1)[1])
        loop = asyncio.get_running_loop()
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.setblocking(False)
            await loop.sock_sendall(client, REQUEST.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
            seen = b""
            async with asyncio.timeout(5):
                while chunk := await loop.sock_recv(client, 65536):
                    seen += chunk
            assert seen.startswith(b"HTTP/1.1 200 OK") and seen.endswith(b"three\r\n0\r\n\r\n")
