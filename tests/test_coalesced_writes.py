"""Hypercorn's writes of one loop turn go out in one send(), and nothing is held back for a later turn."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
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


@contextlib.contextmanager
def connected(url: str) -> Iterator[socket.socket]:
    """A non-blocking client socket connected to the server at `url`."""
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1]))) as client:
        client.setblocking(False)
        yield client


async def read_until(client: socket.socket, marker: bytes, seen: bytes = b"") -> bytes:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(5):
        while marker not in seen:
            seen += await loop.sock_recv(client, 65536)
    return seen


async def test_the_pieces_of_one_turn_go_out_together_and_none_waits_for_a_later_turn(sends: list[bytes]) -> None:
    app = App()
    async with serve_app(app) as url:  # type: ignore[arg-type]  # any ASGI app
        loop = asyncio.get_running_loop()
        with connected(url) as client:
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
        loop = asyncio.get_running_loop()
        with connected(url) as client:
            await loop.sock_sendall(client, REQUEST.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
            seen = b""
            async with asyncio.timeout(5):
                while chunk := await loop.sock_recv(client, 65536):
                    seen += chunk
            assert seen.startswith(b"HTTP/1.1 200 OK") and seen.endswith(b"three\r\n0\r\n\r\n")


class Slow:
    """An ASGI app whose answer takes `seconds` (its body's second half comes then)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"wait,", "more_body": True})
        await asyncio.sleep(self.seconds)
        await send({"type": "http.response.body", "body": b"done", "more_body": False})


async def closed_within(client: socket.socket, seconds: float) -> bool:
    """Whether the server closes `client` within `seconds` (whatever it sends before is read and dropped)."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(seconds):
            while await loop.sock_recv(client, 65536):
                pass
    except TimeoutError:
        return False
    return True


async def test_a_connection_is_closed_after_the_keep_alive_timeout_idle_but_never_while_it_answers() -> None:
    async with serve_app(Slow(0.6), keep_alive_timeout=0.3) as url:  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        with connected(url) as silent:
            started = loop.time()
            assert await closed_within(silent, 3)  # never sent a request: idle from the start
            assert loop.time() - started >= 0.25
        with connected(url) as client:
            for _ in range(2):  # the second request comes after an idle spell shorter than the timeout
                await loop.sock_sendall(client, REQUEST)
                answer = await read_until(client, b"0\r\n\r\n")  # 0.6 s busy: longer than the timeout
                assert answer.startswith(b"HTTP/1.1 200 OK") and b"done" in answer
                await asyncio.sleep(0.1)
            started = loop.time()
            assert await closed_within(client, 3)
            assert loop.time() - started >= 0.15  # the timeout counts from the end of the last answer


async def test_the_server_stopping_closes_an_idle_connection_at_once_and_a_busy_one_after_its_answer() -> None:
    loop = asyncio.get_running_loop()
    with socket.socket() as idle, socket.socket() as busy:
        async with serve_app(Slow(0.5), graceful_timeout=10.0) as url:  # type: ignore[arg-type]
            port = int(url.rsplit(":", 1)[1])
            for client in (idle, busy):
                client.setblocking(False)
                await loop.sock_connect(client, ("127.0.0.1", port))
                await loop.sock_sendall(client, REQUEST)
            await read_until(idle, b"0\r\n\r\n")  # answered: idle now (keep-alive 5 s)
            await loop.sock_sendall(busy, REQUEST)  # pipelined after the first: busy past the stop
            await read_until(busy, b"0\r\n\r\n")
            stopping = loop.time()
        assert loop.time() - stopping < 3  # not the 10 s graceful timeout: nothing was left waiting
        assert await closed_within(idle, 0.1)
        seen = await read_until(busy, b"done\r\n0\r\n\r\n", b"")  # the pipelined request was answered in full
        assert seen.count(b"HTTP/1.1 200 OK") >= 1


async def test_marking_a_connection_busy_and_idle_starts_no_task_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from hypercorn.asyncio.worker_context import AsyncioSingleTask

    restarts: list[object] = []
    restart = AsyncioSingleTask.restart

    async def counted(self: AsyncioSingleTask, *args: Any) -> None:
        restarts.append(self)
        await restart(self, *args)

    monkeypatch.setattr(AsyncioSingleTask, "restart", counted)
    app = App()
    app.go.set()
    async with serve_app(app) as url:  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        with connected(url) as client:
            restarts.clear()  # serve_app's own probe connection
            for _ in range(5):
                await loop.sock_sendall(client, REQUEST)
                await read_until(client, b"0\r\n\r\n")
            assert len(restarts) == 1  # the connection's one watcher, not one per request
