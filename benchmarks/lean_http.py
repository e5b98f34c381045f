"""A lean load side for benchmarks that share a small machine with it: an HTTP/1.1 load generator and an upstream on
bare asyncio protocols, a few times cheaper per request than the aiohttp client and tests/fakes/openai_upstream.

Why: `workers_scale.py` measures how throughput grows with the cores the web workers get; on a 2-CPU machine the load
generator, the fake upstream and the store share a CPU with the second worker, and the aiohttp pair costs about as
much CPU per request as the worker itself, so the second worker got a quarter of a core. This pair speaks plain
HTTP/1.1 with keep-alive (Content-Length and chunked bodies), checks every answer (status, and the end of a stream),
and answers /v1/chat/completions with the fake upstream's `--answer words` (built by its functions: role chunk, one
chunk per word, finish chunk, usage when asked for, [DONE]; each event written on its own, as a model streams), after
checking the key and the request body like it. `workers_scale.py` runs the upstream in the load generator's event loop
(`LeanUpstream`): one process less to wake on the load CPU.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import orjson

from benchmarks.relay_load import DONE, LoadResult, chat_body
from tests.fakes.openai_upstream import (
    Behaviour,
    completion_answer,
    error_body,
    piece,
    piece_events,
    usage_counts,
    usage_event,
)

HEAD_END = b"\r\n\r\n"
LAST_CHUNK = b"0\r\n\r\n"


def _head(status: str, content_type: str, length: int | None) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n{framing}\r\n\r\n".encode()


def _json(status: str, body: bytes) -> bytes:
    return _head(status, "application/json", len(body)) + body


UNAUTHORIZED = _json("401 Unauthorized", error_body(401))
NOT_FOUND = _json("404 Not Found", error_body(404, "unknown_url", "Unknown request URL."))
BAD_BODY = _json("400 Bad Request", error_body(400, message="'messages' is a required property"))
LENGTH_REQUIRED = _json("411 Length Required", error_body(400, message="Content-Length required."))


class Answers:
    """The bytes of every answer, built once per (model, stream, include_usage): a list of writes."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self._cache: dict[tuple[str, bool, bool], list[bytes]] = {}

    def writes(self, model: str, stream: bool, include_usage: bool) -> list[bytes]:
        key = (model, stream, include_usage)
        if (cached := self._cache.get(key)) is None:
            cached = self._cache[key] = self._build(model, stream, include_usage)
        return cached

    def _build(self, model: str, stream: bool, include_usage: bool) -> list[bytes]:
        events = piece_events(model, [piece(index) for index in range(self.chunks)])
        usage = usage_counts(Behaviour.prompt_tokens, self.chunks)
        if not stream:
            return [_json("200 OK", orjson.dumps(completion_answer(model, events, usage)))]
        events += [usage_event(model, usage), DONE] if include_usage else [DONE]
        writes = [b"%x\r\n%s\r\n" % (len(event), event) for event in events]
        writes[0] = _head("200 OK", "text/event-stream", None) + writes[0]
        writes[-1] += LAST_CHUNK
        return writes


class UpstreamProtocol(asyncio.Protocol):
    """One upstream connection: requests in, answers out, keep-alive."""

    def __init__(self, answers: Answers, key: bytes, open_connections: set[asyncio.Transport]) -> None:
        self.answers = answers
        self.authorization = b"authorization: bearer " + key.lower() + b"\r\n"
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.open_connections = open_connections  # the upstream's, closed when it stops

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.open_connections.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        assert self.transport is not None
        self.open_connections.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(HEAD_END)) >= 0:
            head = bytes(self.buffer[:end]).lower() + b"\r\n"
            length = _content_length(head)
            if length is None:  # no chunked request bodies here: refuse, and drop the connection
                self._send([LENGTH_REQUIRED])
                assert self.transport is not None
                self.transport.close()
                return
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self._send(self._answer(head, body))

    def _answer(self, head: bytes, body: bytes) -> list[bytes]:
        if not head.startswith(b"post /v1/chat/completions "):
            return [NOT_FOUND]
        if self.authorization not in head:
            return [UNAUTHORIZED]
        try:
            request = orjson.loads(body)
        except orjson.JSONDecodeError:
            return [BAD_BODY]
        if not isinstance(request, dict) or not isinstance(request.get("messages"), list) or not request["messages"]:
            return [BAD_BODY]
        options = request.get("stream_options") or {}
        include_usage = bool(options.get("include_usage")) if isinstance(options, dict) else False
        model = str(request.get("model") or "gpt-4o-mini")
        return self.answers.writes(model, bool(request.get("stream")), include_usage)

    def _send(self, writes: list[bytes]) -> None:
        assert self.transport is not None
        for data in writes:
            self.transport.write(data)


def _content_length(head: bytes) -> int | None:
    """The Content-Length of a lowercased head (0 for a request without a body), None for a chunked one."""
    start = head.find(b"\r\ncontent-length:")
    if start < 0:
        return None if b"\r\ntransfer-encoding:" in head else 0
    return int(head[start + 17 : head.index(b"\r\n", start + 17)])


class LeanUpstream:
    """The upstream in the running event loop (beside the load generator: one process less to wake on the load CPU)."""

    def __init__(self, port: int, chunks: int, key: str = "sk-bench") -> None:
        self.port, self.answers, self.key = port, Answers(chunks), key.encode()
        self.connections: set[asyncio.Transport] = set()
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> LeanUpstream:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: UpstreamProtocol(self.answers, self.key, self.connections), "127.0.0.1", self.port, backlog=1024
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.server is not None
        self.server.close()
        for transport in list(self.connections):  # the relay's pooled connections: asyncio leaves them open
            transport.close()
        await self.server.wait_closed()


class ClientProtocol(asyncio.Protocol):
    """One client connection: send a request, hand back the whole response (Content-Length or chunked)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[bytes] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"the server closed the connection ({exc})"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        if (size := _response_size(self.buffer)) is not None:
            response = bytes(self.buffer[:size])
            del self.buffer[:size]
            self.waiter.set_result(response)

    def request(self, data: bytes) -> asyncio.Future[bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter


def _response_size(buffer: bytearray) -> int | None:
    """The length of the first whole response in `buffer`, None while it is incomplete."""
    end = buffer.find(HEAD_END)
    if end < 0:
        return None
    head = bytes(buffer[:end]).lower() + b"\r\n"
    length = _content_length(head)
    if length is not None:
        return end + 4 + length if len(buffer) >= end + 4 + length else None
    if buffer.endswith(LAST_CHUNK) and (len(buffer) == end + 9 or buffer[-7:-5] == b"\r\n"):
        return len(buffer)  # a response is only read whole when nothing follows it (one request at a time)
    return None


def _check(response: bytes, stream: bool, end: bytes) -> None:
    if not response.startswith(b"HTTP/1.1 200 "):
        raise RuntimeError(f"{response[:200]!r}")
    tail = response[-256:]
    if stream and (end not in tail or b'"error"' in tail):
        raise RuntimeError(f"stream did not end with {end!r}: {tail!r}")
    if not stream and b'"choices"' not in response:
        raise RuntimeError(f"no answer: {response[:200]!r}")


async def run_lean_load(
    url: str, key: str, model: str, concurrency: int, seconds: float, warmup: float, *, stream: bool = True,
    body: bytes | None = None, end: bytes = DONE,
) -> LoadResult:  # fmt: skip
    """`relay_load.run_load` on bare protocols: `concurrency` keep-alive connections, each one request at a time,
    for `warmup` + `seconds`; counts only what finished in the window (`ttfts` holds each answer's whole time)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    body = body or chat_body(model, stream)
    request = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    loop = asyncio.get_running_loop()
    result = LoadResult()
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds

    async def worker() -> None:
        connection: ClientProtocol | None = None
        while (now := time.perf_counter()) < stop_at:
            try:
                if connection is None or connection.closed:
                    connection = (await loop.create_connection(ClientProtocol, host, port))[1]
                response = await connection.request(request)
                _check(response, stream, end)
            except Exception as exc:  # a failed request is counted, never fatal to the run
                if connection is not None and connection.transport is not None:
                    connection.transport.close()
                connection = None
                if now >= measure_from:
                    result.errors += 1
                    result.first_error = result.first_error or f"{type(exc).__name__}: {exc}"
                continue
            if now >= measure_from and (done := time.perf_counter()) <= stop_at:
                result.ok += 1
                result.ttfts.append(done - now)
        if connection is not None and connection.transport is not None:
            connection.transport.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed = seconds
    return result
