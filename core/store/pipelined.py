"""Auto-pipelining of script calls: the calls made in one turn of the event loop reach the store in one write over
one connection, and their answers are read in order.

Through redis-py each call checks a connection out of the pool, writes, waits and reads on its own: about a tenth
of a millisecond of this process's CPU, twice per /v1 request. Here a call packs its command (core.store.packing),
queues it and waits on a future; one callback per loop turn writes everything queued, and each answer, parsed by
hiredis as it arrives, resolves the oldest waiting call. The store runs the commands one by one as before: each
script stays atomic, none is merged with another.

`Scripts` uses a lane on a single store reached over TCP or a unix socket; a cluster (commands go to the node of
their slot) and TLS (rediss://) keep redis-py's path. Failures read as redis-py's: a connection that breaks fails
every call waiting on it with redis-py's ConnectionError (one of STORE_ERRORS; the call may or may not have run, as
when a redis-py connection breaks), and the next call connects again; a connect that is refused or takes longer than
`connect_timeout` raises the same; an error reply raises redis-py's exception for it (NoScriptError included). A
cancelled call's answer is read and dropped, so the answers of the others stay in step.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import hiredis
from redis._parsers.base import BaseParser
from redis._parsers.encoders import Encoder
from redis.asyncio.connection import ConnectionPool, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse

from core.store.packing import pack_command

_NOT_YET = object()  # hiredis' answer while a reply is still incomplete
_ENCODER = Encoder("utf-8", "strict", decode_responses=True)


class _Connection(asyncio.Protocol):
    """One connection: the commands to write this turn, and the calls waiting for answers, oldest first."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.outbox: list[bytes] = []
        self.lost: Exception | None = None
        self._reader = hiredis.Reader(
            protocolError=InvalidResponse, replyError=BaseParser.parse_error, notEnoughData=_NOT_YET,
            encoding="utf-8", errors="strict",
        )  # fmt: skip

    def send(self, command: bytes) -> asyncio.Future[Any]:
        """Queue one packed command; its answer resolves the returned future."""
        future = self.loop.create_future()
        if self.lost is not None:
            future.set_exception(self.lost)
            return future
        if not self.outbox:
            self.loop.call_soon(self._flush)
        self.outbox.append(command)
        self.waiting.append(future)
        return future

    def _flush(self) -> None:
        outbox, self.outbox = self.outbox, []
        if self.lost is None and self.transport is not None and outbox:
            self.transport.write(b"".join(outbox) if len(outbox) > 1 else outbox[0])

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        reader, waiting = self._reader, self.waiting
        reader.feed(data)
        try:
            while (reply := reader.gets()) is not _NOT_YET:
                future = waiting.popleft()
                if future.done():
                    continue  # its caller was cancelled
                if isinstance(reply, Exception):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)
        except (InvalidResponse, IndexError) as error:  # not RESP, or an answer nobody asked for: out of step
            self.close(RedisConnectionError(f"The store's answer could not be read: {error}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.close(RedisConnectionError("Connection closed by the store." if exc is None else f"{exc}"))

    def close(self, error: Exception) -> None:
        """Fail every waiting call and close the transport (once)."""
        if self.lost is None:
            self.lost = error
        waiting, self.waiting = self.waiting, deque()
        for future in waiting:
            if not future.done():
                future.set_exception(self.lost)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


class PipelinedLane:
    """Calls to one store, auto-pipelined over one connection made on the running loop at first use."""

    def __init__(
        self, *, host: str = "localhost", port: int = 6379, path: str = "", username: str | None = None,
        password: str | None = None, db: int = 0, connect_timeout: float = 10.0,
    ) -> None:  # fmt: skip
        self._address = (host, int(port), path)
        self._auth = [value for value in (username, password) if value] if password else []
        self._db = int(db or 0)
        self._connect_timeout = connect_timeout
        self._connection: _Connection | None = None
        self._connecting: asyncio.Future[_Connection] | None = None

    @classmethod
    def for_pool(cls, pool: ConnectionPool, connect_timeout: float) -> PipelinedLane:
        """A lane to the store a redis-py pool connects to (its host and port or unix path, user, password, db)."""
        kwargs = pool.connection_kwargs
        path = kwargs.get("path", "") if issubclass(pool.connection_class, UnixDomainSocketConnection) else ""
        return cls(
            host=kwargs.get("host", "localhost"), port=kwargs.get("port", 6379), path=path,
            username=kwargs.get("username"), password=kwargs.get("password"), db=kwargs.get("db", 0),
            connect_timeout=connect_timeout,
        )  # fmt: skip

    async def execute(self, *args: Any) -> Any:
        """Send one command and return its answer (decoded as the store client's: str, int, lists)."""
        command = pack_command(args, _ENCODER)
        connection = self._connection
        if connection is None or connection.lost is not None or connection.loop is not asyncio.get_running_loop():
            connection = await self._connect()
        return await connection.send(command)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and connection.loop is asyncio.get_running_loop():
            connection.close(RedisConnectionError("The store client was closed."))

    async def _connect(self) -> _Connection:
        """Connect once for all the calls that find no connection (the first one connects, the others wait)."""
        loop = asyncio.get_running_loop()
        pending = self._connecting
        if pending is None or pending.get_loop() is not loop:
            pending = self._connecting = loop.create_future()
            try:
                connection = await self._open(loop)
            except BaseException as error:
                self._connecting = None
                failure = error if isinstance(error, Exception) else RedisConnectionError("The connect was cancelled.")
                if not pending.done():
                    pending.set_exception(failure)
                    pending.exception()  # retrieved: no "never retrieved" warning when nobody else waited
                raise
            self._connection, self._connecting = connection, None
            pending.set_result(connection)
            return connection
        return await asyncio.shield(pending)

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        host, port, path = self._address
        connection = _Connection(loop)
        try:
            async with asyncio.timeout(self._connect_timeout):
                if path:
                    await loop.create_unix_connection(lambda: connection, path)
                else:
                    await loop.create_connection(lambda: connection, host, port)
                if self._auth:
                    await connection.send(pack_command(("AUTH", *self._auth), _ENCODER))
                if self._db:
                    await connection.send(pack_command(("SELECT", self._db), _ENCODER))
        except (OSError, TimeoutError) as error:
            connection.close(RedisConnectionError(f"Error connecting to the store: {error}"))
            where = path or f"{host}:{port}"
            raise RedisConnectionError(f"Error connecting to {where}: {error or type(error).__name__}") from None
        except BaseException as error:
            connection.close(RedisConnectionError(f"Error connecting to the store: {error}"))
            raise
        return connection
