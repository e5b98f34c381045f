"""The relay engine against the loopback fake upstream: streaming, failover, broken streams, disconnects."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import orjson
import pytest

from core.chat.token_count import count_message_tokens, count_tokens
from core.errors import ContextTooLong, UpstreamError, UpstreamUnavailable
from core.relay.catalogue import Model, Upstream
from core.relay.engine import Relay, RelayStream
from core.relay.upstream_sse import RelayEvent
from core.relay.upstreams import upstream_health
from core.settings import Settings
from core.store.connection import Store
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, text_of

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say some words."}]
BODY = {"messages": MESSAGES, "temperature": 0.5}


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            # short enough for quick tests, long enough that a healthy loopback answer is never late on a busy
            # machine; the fakes' hangs and pauses below are each three times these
            "UPSTREAM_CONNECT_TIMEOUT": 1.0,
            "UPSTREAM_FIRST_BYTE_TIMEOUT": 1.0,
            "UPSTREAM_IDLE_TIMEOUT": 1.0,
            "UPSTREAM_FAILS_TO_BENCH": 3,
            "UPSTREAM_BENCH_SECONDS": 60,
        }
    )


@pytest.fixture
async def relay(fast_settings: Settings, store: Store) -> AsyncIterator[Relay]:
    engine = Relay(fast_settings, store)
    yield engine
    await engine.close()


@pytest.fixture
async def fake_a() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as fake:
        yield fake


@pytest.fixture
async def fake_b() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as fake:
        yield fake


def upstream(fake: FakeUpstream | str, uid: str, priority: int = 0, keys: list[str] | None = None) -> Upstream:
    base = fake if isinstance(fake, str) else fake.base_url
    return Upstream(id=uid, base_url=base, keys=keys or ["sk-test"], priority=priority)


def model_of(*upstreams: Upstream) -> Model:
    return Model(id="gpt-4o-mini", name="GPT-4o mini", context_window=128_000, upstreams=list(upstreams))


async def drain(stream: RelayStream) -> list[RelayEvent]:
    async with stream:
        return [event async for event in stream]


async def test_stream_forwards_the_upstream_bytes_and_its_usage(relay: Relay, fake_a: FakeUpstream) -> None:
    stream = await relay.stream(model_of(upstream(fake_a, "a")), BODY)
    events = await drain(stream)
    raw = b"".join(event.raw for event in events)
    assert raw.startswith(b'data: {"id":"chatcmpl-fake"') and raw.endswith(b"data: [DONE]\n\n")
    assert raw.count(b"\n\n") == 8 + 4  # role, 8 contents, finish, usage, [DONE]: forwarded, not rebuilt
    assert stream.text == "".join(event.content for event in events) == text_of(8)
    assert (stream.usage.prompt_tokens, stream.usage.completion_tokens, stream.usage.estimated) == (9, 8, False)
    assert stream.finish_reason == "stop" and stream.error is None and events[-1].done
    sent = fake_a.chat_requests[0]
    assert sent.body["stream"] is True and sent.body["stream_options"] == {"include_usage": True}
    assert sent.body["model"] == "gpt-4o-mini" and sent.body["temperature"] == 0.5
    assert sent.headers["Authorization"] == "Bearer sk-test"


async def test_usage_chunk_is_dropped_when_the_caller_did_not_ask(relay: Relay, fake_a: FakeUpstream) -> None:
    stream = await relay.stream(model_of(upstream(fake_a, "a")), BODY, include_usage=False)
    raw = b"".join(event.raw for event in await drain(stream))
    assert b'"choices":[]' not in raw and raw.endswith(b"data: [DONE]\n\n")
    assert stream.usage.completion_tokens == 8 and not stream.usage.estimated


@pytest.mark.parametrize(
    "failure",
    [Behaviour(status=500), Behaviour(status=429), Behaviour(status=503), Behaviour(hang=3.0)],
    ids=["500", "429", "503", "timeout"],
)
async def test_first_upstream_fails_then_the_second_serves(
    relay: Relay, store: Store, fake_a: FakeUpstream, fake_b: FakeUpstream, failure: Behaviour
) -> None:
    fake_a.behaviour = failure
    model = model_of(upstream(fake_a, "a", priority=10), upstream(fake_b, "b", priority=0))
    stream = await relay.stream(model, BODY)
    await drain(stream)
    assert stream.upstream.id == "b" and stream.text == text_of(8)
    assert len(fake_a.chat_requests) == 1 and len(fake_b.chat_requests) == 1
    assert (await upstream_health(store, ["a"]))["a"].fails == 1


async def test_silence_after_headers_is_a_first_byte_timeout(
    relay: Relay, fake_a: FakeUpstream, fake_b: FakeUpstream
) -> None:
    fake_a.behaviour = Behaviour(hang_after_headers=3.0)
    stream = await relay.stream(model_of(upstream(fake_a, "a", 10), upstream(fake_b, "b")), BODY)
    await drain(stream)
    assert stream.upstream.id == "b"


async def test_rejected_key_fails_over_and_counts(
    relay: Relay, store: Store, fake_a: FakeUpstream, fake_b: FakeUpstream
) -> None:
    model = model_of(upstream(fake_a, "a", 10, keys=["sk-wrong"]), upstream(fake_b, "b"))
    stream = await relay.stream(model, BODY)
    await drain(stream)
    assert stream.upstream.id == "b" and fake_a.chat_requests[0].key == "sk-wrong"
    health = (await upstream_health(store, ["a"]))["a"]
    assert health.fails == 1 and "401" in health.last_error and "sk-wrong" not in health.last_error


async def test_refused_connection_fails_over(relay: Relay, fake_b: FakeUpstream) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    stream = await relay.stream(model_of(upstream(dead, "dead", 10), upstream(fake_b, "b")), BODY)
    await drain(stream)
    assert stream.upstream.id == "b"


async def test_context_length_error_is_returned_without_failover(
    relay: Relay, fake_a: FakeUpstream, fake_b: FakeUpstream
) -> None:
    fake_a.behaviour = Behaviour(status=400, error_code="context_length_exceeded")
    with pytest.raises(ContextTooLong) as caught:
        await relay.stream(model_of(upstream(fake_a, "a", 10), upstream(fake_b, "b")), BODY)
    assert caught.value.data["upstream_status"] == 400 and fake_b.chat_requests == []


async def test_other_client_errors_carry_the_upstream_message(relay: Relay, fake_a: FakeUpstream) -> None:
    fake_a.behaviour = Behaviour(status=400)
    with pytest.raises(UpstreamError) as caught:
        await relay.complete(model_of(upstream(fake_a, "a")), BODY)
    assert caught.value.message == "Invalid request." and caught.value.data["upstream_status"] == 400


async def test_all_upstreams_down_raises_unavailable(relay: Relay, fake_a: FakeUpstream, fake_b: FakeUpstream) -> None:
    fake_a.behaviour = Behaviour(status=500)
    fake_b.behaviour = Behaviour(status=429)
    with pytest.raises(UpstreamUnavailable) as caught:
        await relay.stream(model_of(upstream(fake_a, "a", 10), upstream(fake_b, "b")), BODY)
    assert caught.value.data == {"attempts": 2}


async def test_mid_stream_break_ends_with_error_and_counts_only_what_was_delivered(
    relay: Relay, store: Store, fake_a: FakeUpstream
) -> None:
    fake_a.behaviour = Behaviour(chunks=20, break_after=5, usage=True)
    stream = await relay.stream(model_of(upstream(fake_a, "a")), BODY)
    events = await drain(stream)
    last = events[-1]
    assert last.done and last.error is not None and last.error["code"] == "upstream_broken"
    assert last.raw.endswith(b'"type":"server_error","param":null,"code":"upstream_broken"}}\n\ndata: [DONE]\n\n')
    assert stream.text == text_of(5)
    usage = stream.usage
    assert usage.estimated and usage.completion_tokens == count_tokens(text_of(5), "gpt-4o-mini")
    assert usage.prompt_tokens == count_message_tokens(MESSAGES, "gpt-4o-mini")
    assert (await upstream_health(store, ["a"]))["a"].fails == 1


async def test_mid_stream_error_event_ends_the_stream(relay: Relay, fake_a: FakeUpstream) -> None:
    fake_a.behaviour = Behaviour(chunks=10, error_after=4)
    stream = await relay.stream(model_of(upstream(fake_a, "a")), BODY)
    events = await drain(stream)
    error = orjson.loads(events[-1].raw.split(b"\n\n")[-3][6:])["error"]
    assert error["type"] == "server_error" and error["code"] == "server_error"
    assert stream.error is not None and stream.text == text_of(4) and stream.usage.estimated


async def test_malformed_line_ends_the_stream_with_an_error_event(relay: Relay, fake_a: FakeUpstream) -> None:
    fake_a.behaviour = Behaviour(chunks=10, malformed_after=3)
    stream = await relay.stream(model_of(upstream(fake_a, "a")), BODY)
    events = await drain(stream)
    assert events[-1].error == {"message": "The upstream sent a malformed event line.", "code": "upstream_malformed"}
    assert b"this is not an SSE line" not in b"".join(event.raw for event in events)
    assert stream.text == text_of(3)


async def test_missing_usage_chunk_is_counted_with_tiktoken(relay: Relay, fake_a: FakeUpstream) -> None:
    fake_a.behaviour = Behaviour(chunks=12, usage=False)
    stream = await relay.stream(model_of(upstream(fake_a, "a")), BODY, prompt_tokens=42)
    await drain(stream)
    assert stream.error is None and stream.usage.estimated
    assert stream.usage.prompt_tokens == 42
    assert stream.usage.completion_tokens == count_tokens(text_of(12), "gpt-4o-mini") > 12


async def test_idle_upstream_ends_with_a_timeout_event(relay: Relay, fake_a: FakeUpstream) -> None:
    fake_a.behaviour = Behaviour(chunks=6, pause_after=2, pause=3.0)
    stream = await relay.stream(model_of(upstream(fake_a, "a")), BODY)
    events = await drain(stream)
    assert events[-1].error is not None and events[-1].error["code"] == "upstream_timeout"
    assert stream.text == text_of(2)


async def test_aclose_closes_the_upstream_connection_at_once(relay: Relay, fake_a: FakeUpstream) -> None:
    fake_a.behaviour = Behaviour(chunks=200, chunk_delay=0.02)
    stream = await relay.stream(model_of(upstream(fake_a, "a")), BODY)
    await anext(stream)
    await anext(stream)
    await stream.aclose()
    await asyncio.wait_for(fake_a.disconnected.wait(), timeout=1.0)
    assert fake_a.completed == 0 and stream.usage.estimated


async def test_cancelled_consumer_closes_the_upstream_connection(relay: Relay, fake_a: FakeUpstream) -> None:
    fake_a.behaviour = Behaviour(chunks=3, pause_after=1, pause=5.0)  # the upstream is silent when we leave
    stream = await relay.stream(model_of(upstream(fake_a, "a")), BODY)
    got: list[str] = []

    async def consume() -> None:
        async for event in stream:
            got.append(event.content)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.1)
    task.cancel()  # what Hypercorn does when the caller disconnects
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(fake_a.disconnected.wait(), timeout=1.0)
    assert "".join(got) == stream.text == text_of(1)


async def test_non_stream_completion_with_failover(relay: Relay, fake_a: FakeUpstream, fake_b: FakeUpstream) -> None:
    fake_a.behaviour = Behaviour(status=503)
    completion = await relay.complete(model_of(upstream(fake_a, "a", 10), upstream(fake_b, "b")), {**BODY})
    assert completion.upstream.id == "b" and completion.text == text_of(8)
    assert completion.data["object"] == "chat.completion" and orjson.loads(completion.body) == completion.data
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (9, 8)
    assert "stream" not in fake_b.chat_requests[0].body


async def test_keys_of_an_upstream_rotate(relay: Relay) -> None:
    async with FakeUpstream(keys={"sk-one", "sk-two"}) as fake:
        model = model_of(upstream(fake, "a", keys=["sk-one", "sk-two"]))
        for _ in range(3):
            await drain(await relay.stream(model, BODY))
        assert [request.key for request in fake.chat_requests] == ["sk-one", "sk-two", "sk-one"]


async def test_azure_upstream_uses_its_deployment_url_and_header(relay: Relay) -> None:
    async with FakeUpstream(keys={"az-key"}) as fake:
        azure = Upstream(
            id="az", base_url=fake.url, keys=["az-key"], kind="azure", deployment="gpt4o", api_version="2024-10-21"
        )
        stream = await relay.stream(model_of(azure), BODY)
        await drain(stream)
        sent = fake.chat_requests[0]
        assert sent.path == "/openai/deployments/gpt4o/chat/completions" and sent.key == "az-key"
        assert "Authorization" not in sent.headers and stream.text == text_of(8)


async def test_an_upstream_without_the_model_is_skipped_but_not_benched(
    relay: Relay, store: Store, fake_a: FakeUpstream, fake_b: FakeUpstream
) -> None:
    fake_a.behaviour = Behaviour(status=404)
    completion = await relay.complete(model_of(upstream(fake_a, "a", 10), upstream(fake_b, "b")), BODY)
    assert completion.upstream.id == "b"
    assert (await upstream_health(store, ["a"]))["a"].fails == 0


async def test_a_buffered_stream_resumes_its_upstream_once_per_read_not_per_chunk(
    relay: Relay, fake_a: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiohttp.client_proto import ResponseHandler

    resumed: list[int] = []
    original = ResponseHandler.resume_reading

    def counted(self: ResponseHandler, *args: object) -> None:
        resumed.append(1)
        original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(ResponseHandler, "resume_reading", counted)
    fake_a.behaviour = Behaviour(chunks=300)
    stream = await relay.stream(model_of(upstream(fake_a, "a")), BODY)
    await asyncio.sleep(0.2)  # the whole answer waits in aiohttp's buffer: ~300 HTTP chunks
    events = await drain(stream)
    assert stream.text == text_of(300) and events[-1].done
    assert len(resumed) <= len(events) + 2  # once per read that emptied the buffer (it was once per chunk)


async def test_a_burst_past_the_high_water_mark_pauses_the_upstream_and_arrives_whole(
    relay: Relay, fake_a: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiohttp.client_proto import ResponseHandler

    paused: list[int] = []
    original = ResponseHandler.pause_reading

    def counted(self: ResponseHandler) -> None:
        paused.append(1)
        original(self)

    monkeypatch.setattr(ResponseHandler, "pause_reading", counted)
    pieces = tuple(f" {index:05d}" + "x" * 400 for index in range(1500))  # ~650 KB: past the 128 KiB high water
    fake_a.behaviour = Behaviour(pieces=pieces, chunks=len(pieces))
    stream = await relay.stream(model_of(upstream(fake_a, "a")), BODY)
    await asyncio.sleep(0.3)  # a slow reader: aiohttp's buffer fills and reading pauses
    text = ""
    async with asyncio.timeout(20), stream:  # a reader never resumed would wait forever (no idle timer runs paused)
        async for event in stream:
            text += event.content
            await asyncio.sleep(0)
    assert paused and text == "".join(pieces) and stream.finish_reason == "stop"
