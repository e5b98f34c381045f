"""The relay engine: send a chat request to a model's upstreams with failover and hand back the answer.

One shared aiohttp session pools connections to every upstream (made lazily on the running loop, closed by
`Services.close`). The request body is serialised once and sent as bytes. Failover happens only before anything
reached the caller: connect errors, timeouts (connect, first byte), 429, 5xx and rejected keys (401/403) move on
to the next upstream and count against its health (a refused key, 401/403/429, first to the upstream's next key,
each key once per call); an upstream's 400 is the caller's problem and is returned as UpstreamError /
ContextTooLong with the upstream's message. Nothing left: UpstreamUnavailable. A stream that stalls
(UPSTREAM_IDLE_TIMEOUT) or breaks mid-way counts against its upstream too, whose failures are cleared only by an
answer that ends complete: an upstream that always stalls mid-answer gets benched, and later calls fail over.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import orjson
from yarl import URL

from core.chat.token_count import configure_tokens, preload_in_background
from core.chat.token_pool import TokenPool
from core.errors import CoreError, UpstreamUnavailable
from core.logs import request_id
from core.metrics import Metrics
from core.relay.catalogue import Model, Upstream
from core.relay.failures import Retry, describe, refusal
from core.relay.stream import RelayStream, Usage, count_usage
from core.relay.upstream_sse import RelayEvent, SSEParser
from core.relay.upstream_stats import UpstreamStats
from core.relay.upstreams import Attempt, HealthCache, claim_probe, plan_attempts, record_failure, record_success
from core.settings import Settings
from core.store.connection import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
LARGE_BODY_BYTES = 1 << 20  # aiohttp's own line: a bigger bytes body would be written in one go
__all__ = ["Completion", "Relay", "RelayEvent", "RelayStream", "Retry", "Usage", "build_relay"]


@dataclass(frozen=True)
class Completion:
    """A non-stream answer: the upstream's JSON body (forward as-is), parsed, its text and usage."""

    body: bytes
    data: dict[str, Any]
    text: str  # the first answer's
    usage: Usage
    upstream: Upstream
    texts: tuple[str, ...] = ()  # every answer's text, by choice index (`n` > 1)


class Relay:
    """Send chat requests to upstreams; one instance per process, shared by every request."""

    def __init__(
        self, settings: Settings, store: Store, clock: Callable[[], float] = time.time,
        rng: random.Random | None = None, metrics: Metrics | None = None,
    ) -> None:  # fmt: skip
        self._settings = settings
        self._metrics = metrics or Metrics(instance="relay")
        self._store = store
        self._clock = clock
        self._rng = rng or random.Random()
        self._session: aiohttp.ClientSession | None = None
        self._key_turn: dict[str, int] = {}
        self._urls: dict[tuple[str, ...], URL] = {}
        self.health = HealthCache()
        self.stats = UpstreamStats(store, clock)
        self.tokens = TokenPool(settings.TOKEN_COUNT_WORKERS)  # token counting off the event loop (chat path too)

    def session(self) -> aiohttp.ClientSession:
        """Return the shared session, creating it on the running loop at first use."""
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(
                total=None,
                sock_connect=self._settings.UPSTREAM_CONNECT_TIMEOUT,
                sock_read=self._settings.UPSTREAM_FIRST_BYTE_TIMEOUT,  # lowered to the idle timeout per stream
            )
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        return self._session

    async def close(self) -> None:
        """Close the shared session and its pooled connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
        await self.stats.close()
        self.tokens.close()

    async def stream(
        self,
        model: Model,
        body: Mapping[str, Any],
        *,
        include_usage: bool = True,
        prompt_tokens: int | None = None,
    ) -> RelayStream:
        """Open a stream on the first upstream that sends its first event; see docs/API.md "The relay engine"."""
        payload = self._payload(model, body, stream=True)

        async def open_one(upstream: Upstream, key: str) -> tuple[aiohttp.ClientResponse, SSEParser, RelayEvent]:
            return await self._open_stream(model, upstream, key, payload, include_usage)

        # A stream's upstream is judged healthy when its answer ends complete, not when it starts: one that stalls or
        # breaks mid-way every time keeps its failures and is benched (later calls fail over to the next upstream).
        attempt, (response, parser, first) = await self._failover(model, open_one, recover=False)
        return RelayStream(
            model=model,
            upstream=attempt.upstream,
            response=response,
            parser=parser,
            first=first,
            messages=body.get("messages") or [],
            prompt_tokens=prompt_tokens,
            on_fault=self._stream_fault,
            tokens=self.tokens,
            on_success=lambda: self._recovered(attempt),
        )

    async def complete(self, model: Model, body: Mapping[str, Any], *, prompt_tokens: int | None = None) -> Completion:
        """Send a non-stream request with the same failover; return the upstream's JSON answer."""
        payload = self._payload(model, body, stream=False)

        async def open_one(upstream: Upstream, key: str) -> tuple[bytes, dict[str, Any]]:
            return await self._open_complete(model, upstream, key, payload)

        attempt, (raw, data) = await self._failover(model, open_one)
        texts = _completion_texts(data)
        messages = body.get("messages") or []
        usage = await count_usage(self.tokens, data.get("usage"), model, messages, "".join(texts), prompt_tokens)
        return Completion(body=raw, data=data, text=texts[0], usage=usage, upstream=attempt.upstream, texts=texts)

    async def call(
        self, model: Model, endpoint: str, body: Mapping[str, Any], expect: str
    ) -> tuple[bytes, dict[str, Any]]:
        """POST a JSON request to another endpoint of the model's upstreams (`embeddings`, `moderations`) with the
        same failover; return the upstream's JSON answer (bytes to forward, and parsed), which must have `expect`."""
        payload = orjson.dumps({**body, "model": model.remote_name})

        async def open_one(upstream: Upstream, key: str) -> tuple[bytes, dict[str, Any]]:
            return await self._open_complete(model, upstream, key, payload, endpoint, expect)

        _, answer = await self._failover(model, open_one)
        return answer

    async def _failover(
        self, model: Model, open_one: Callable[[Upstream, str], Awaitable[T]], *, recover: bool = True
    ) -> tuple[Attempt, T]:
        """Try the model's upstreams in order until one answers, and an upstream's other keys when one is refused
        (401/403/429); record health as we go (`recover=False`: the caller clears the answering upstream's
        failures itself, when its answer proves it healthy)."""
        tried = 0
        for attempt in await plan_attempts(self._store, model, self._clock(), self._rng, self.health):
            upstream = attempt.upstream
            if attempt.probe and not await claim_probe(self._store, self._settings, upstream.id):
                continue  # another request is probing this upstream back from its bench
            for turn, key in enumerate(self._keys_in_turn(upstream)):
                tried += 1
                started = time.monotonic()
                try:
                    result = await open_one(upstream, key)
                except Retry as failure:
                    await self._failed(model, attempt, failure, counts=failure.counts and turn == 0)
                    if failure.key_fault and not attempt.probe:
                        continue  # this key was refused: the upstream's next key may not be (a probe tries one)
                    break
                except CoreError:
                    self.stats.note(upstream.id, ok=True, latency_ms=_elapsed_ms(started))
                    self._metrics.inc("chatgate_upstream_requests_total", upstream=upstream.id, outcome="refused")
                    await self._recovered(attempt)  # it answered: alive, the request was bad
                    raise
                self.stats.note(upstream.id, ok=True, latency_ms=_elapsed_ms(started))
                if recover or attempt.probe:  # a benched upstream that answers a probe is back in service at once
                    await self._recovered(attempt)
                self._count_answer(model, upstream, time.monotonic() - started, tried)
                return attempt, result
        raise UpstreamUnavailable(attempts=tried)

    async def _failed(self, model: Model, attempt: Attempt, failure: Retry, *, counts: bool) -> None:
        """Count an upstream's failure before the first byte (stats and metrics; its health when it `counts`: once
        per request, however many of its keys were refused)."""
        upstream = attempt.upstream
        self.stats.note(upstream.id, ok=False)
        self._metrics.inc("chatgate_upstream_requests_total", upstream=upstream.id, outcome="failed")
        log.warning("upstream %s for %s failed: %s", upstream.id, model.id, failure.reason)
        if counts or attempt.probe:
            await record_failure(
                self._store, self._settings, upstream.id, self._clock(), failure.reason, probe=attempt.probe
            )
            self.health.forget(upstream.id)

    def _count_answer(self, model: Model, upstream: Upstream, seconds: float, tried: int) -> None:
        self._metrics.inc("chatgate_upstream_requests_total", upstream=upstream.id, outcome="ok")
        self._metrics.observe("chatgate_upstream_first_byte_seconds", seconds, upstream=upstream.id)
        if tried > 1:
            self._metrics.inc("chatgate_upstream_failovers_total", model=model.id, upstream=upstream.id)

    async def _open_stream(
        self, model: Model, upstream: Upstream, key: str, payload: bytes, include_usage: bool
    ) -> tuple[aiohttp.ClientResponse, SSEParser, RelayEvent]:
        """POST the request and read up to the first complete event, all within the first-byte timeout."""
        url, headers = self._target(model, upstream, key, stream=True)
        response: aiohttp.ClientResponse | None = None
        try:
            async with asyncio.timeout(self._settings.UPSTREAM_FIRST_BYTE_TIMEOUT):
                response = await self.session().post(url, data=_body(payload), headers=headers)
                if response.status != 200:
                    raise await refusal(response)
                _resume_when_drained(response.content)
                parser = SSEParser(forward_usage=include_usage)
                first = None
                while first is None:
                    chunk = await response.content.readany()
                    if not chunk:
                        raise Retry("the upstream ended the stream before its first event")
                    first = parser.feed(chunk)
            if first.error is not None and not first.content:
                raise Retry(f"error event before any content: {first.error.get('message', '')}")
            if response.connection is not None:
                # From here on a silent upstream is judged by the idle timeout, not the first-byte one.
                response.connection.protocol.read_timeout = self._settings.UPSTREAM_IDLE_TIMEOUT  # type: ignore[union-attr]
            return response, parser, first
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            _close(response)
            raise Retry(describe(exc)) from None
        except BaseException:
            _close(response)
            raise

    async def _open_complete(
        self, model: Model, upstream: Upstream, key: str, payload: bytes, endpoint: str = "chat/completions",
        expect: str = "choices",
    ) -> tuple[bytes, dict[str, Any]]:  # fmt: skip
        """POST a non-stream request and read its JSON body (which must carry the list `expect`)."""
        url, headers = self._target(model, upstream, key, stream=False, endpoint=endpoint)
        response: aiohttp.ClientResponse | None = None
        try:
            async with asyncio.timeout(self._settings.UPSTREAM_FIRST_BYTE_TIMEOUT):
                response = await self.session().post(url, data=_body(payload), headers=headers)
                if response.status != 200:
                    raise await refusal(response)
            raw = await response.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            _close(response)
            raise Retry(describe(exc)) from None
        except BaseException:
            _close(response)
            raise
        response.release()
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise Retry("the upstream answered with malformed JSON") from None
        if not isinstance(data, dict) or "error" in data or not isinstance(data.get(expect), list):
            raise Retry(f"the upstream answered without {expect}")
        return raw, data

    async def _recovered(self, attempt: Attempt) -> None:
        """Clear the failures of an upstream that answered (no store write when it had none)."""
        if attempt.health.fails or attempt.probe:
            await record_success(self._store, attempt.upstream.id)
            self.health.forget(attempt.upstream.id)

    async def _stream_fault(self, upstream: Upstream, reason: str) -> None:
        """Count a stream that broke or went silent mid-way against its upstream's health."""
        self._metrics.inc("chatgate_upstream_stream_faults_total", upstream=upstream.id)
        await record_failure(self._store, self._settings, upstream.id, self._clock(), reason)
        self.health.forget(upstream.id)

    def _payload(self, model: Model, body: Mapping[str, Any], *, stream: bool) -> bytes:
        """Serialise the request once (the same bytes go to every upstream tried)."""
        request = dict(body)
        request["model"] = model.remote_name
        if stream:
            request["stream"] = True
            request["stream_options"] = {**(request.get("stream_options") or {}), "include_usage": True}
        else:
            request.pop("stream", None)
            request.pop("stream_options", None)
        return orjson.dumps(request)

    def _target(
        self, model: Model, upstream: Upstream, key: str, *, stream: bool, endpoint: str = "chat/completions"
    ) -> tuple[URL, dict[str, str]]:
        """Return the URL of an endpoint (chat completions by default) and the headers of an upstream with `key`."""
        headers = {"Content-Type": "application/json"}
        if stream:
            headers["Accept"] = "text/event-stream"
        if (traced := request_id.get()) != "-":
            headers["X-Request-Id"] = traced  # the same id in our logs and, if it keeps one, the upstream's
        if upstream.kind == "azure":
            if key:
                headers["api-key"] = key
        elif key:
            headers["Authorization"] = f"Bearer {key}"
        return self._url(upstream, endpoint), headers

    def _url(self, upstream: Upstream, endpoint: str = "chat/completions") -> URL:
        cache_key = (upstream.kind, upstream.base_url, upstream.deployment, upstream.api_version, endpoint)
        url = self._urls.get(cache_key)
        if url is None:
            if upstream.kind == "azure":
                path = f"/openai/deployments/{quote(upstream.deployment, safe='')}/{endpoint}"
                text = f"{upstream.base_url}{path}?api-version={quote(upstream.api_version, safe='')}"
            else:
                text = f"{upstream.base_url}/{endpoint}"
            url = self._urls[cache_key] = URL(text)
        return url

    def _keys_in_turn(self, upstream: Upstream) -> list[str]:
        """Return an upstream's keys to try, starting with the next in rotation (one try without a key if none)."""
        keys = upstream.keys
        if not keys:
            return [""]
        turn = self._key_turn.get(upstream.id, 0) % len(keys)
        self._key_turn[upstream.id] = turn + 1
        return [*keys[turn:], *keys[:turn]]


def build_relay(
    settings: Settings, store: Store, clock: Callable[[], float] = time.time, metrics: Metrics | None = None
) -> Relay:
    """Build the process's relay and point token counting at the offline tiktoken cache."""
    configure_tokens(settings.TIKTOKEN_CACHE_DIR or settings.DATA_DIR / "tiktoken")
    preload_in_background()
    return Relay(settings, store, clock, metrics=metrics)


def _completion_texts(data: dict[str, Any]) -> tuple[str, ...]:
    """Return each choice's message.content of a completion by choice index ("" where one has none; at least one)."""
    texts: dict[int, str] = {0: ""}
    for position, choice in enumerate(data.get("choices") or []):
        message = choice.get("message") if isinstance(choice, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        index = choice.get("index") if isinstance(choice, dict) else None
        where = index if isinstance(index, int) and index >= 0 else position
        texts[where] = content if isinstance(content, str) else ""
    return tuple(texts.get(index, "") for index in range(max(texts) + 1))


def _body(payload: bytes) -> bytes | io.BytesIO:
    """The request body to send: big ones (inline images) as a stream aiohttp writes in chunks, not one blocking
    write (a fresh one per attempt: failover sends the same bytes again)."""
    return io.BytesIO(payload) if len(payload) > LARGE_BODY_BYTES else payload


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _resume_when_drained(body: aiohttp.StreamReader) -> None:
    """Have aiohttp resume reading an upstream's stream once what it buffered is read, not after every HTTP chunk.

    aiohttp (3.14) calls its protocol's `resume_reading` for each chunk a read takes while less than its low-water
    mark is buffered, paused or not, and each call runs the response parser again on no data and asks the transport
    to read: an SSE stream is one chunk per event, so ~70 calls per answer (~40 µs of CPU). With a low-water mark of
    one byte it resumes once the buffer is empty; reading still pauses past the high-water mark (twice the read
    buffer, 128 KiB), as before. Another aiohttp's reader keeps its own flow control."""
    with contextlib.suppress(AttributeError):
        body._low_water = 1


def _close(response: aiohttp.ClientResponse | None) -> None:
    if response is not None:
        response.close()
