"""The OpenAI-compatible API: the official SDK over a real socket, quotas under concurrency, OpenAI-shaped errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import openai
import orjson
import pytest
from openai.types.chat import ChatCompletionMessageParam
from quart import Quart

from core.accounts.api_keys import create_api_key
from core.accounts.users import User
from core.chat.token_count import count_tokens
from core.moderation import set_words
from core.services import Services, build_services
from core.settings import Settings
from core.store.connection import Store
from tests.chat_support import (
    CHEAP_HASHING,
    MODEL,
    add_model,
    eventually,
    new_user,
    serve_app,
    set_plan,
    usage_totals,
    window_count,
)
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, piece, text_of
from tests.webui.conftest import AuthActions, MakeApp
from tests.webui.v1_support import make_caller
from webui import create_app

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hello"}]
JSON = {"Content-Type": "application/json"}
CHAT = "/v1/chat/completions"


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        yield upstream


def sse_events(body: bytes) -> list[Any]:
    """Parse an SSE body into its data payloads ([DONE] kept as the string)."""
    events = []
    for block in body.split(b"\n\n"):
        if block.startswith(b"data: "):
            data = block[6:]
            events.append("[DONE]" if data == b"[DONE]" else orjson.loads(data))
    return events


def content_of(events: list[Any]) -> str:
    return "".join(
        (choice.get("delta") or {}).get("content") or ""
        for event in events
        if isinstance(event, dict)
        for choice in event.get("choices") or []
    )


def assert_openai_error(data: Any, code: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    assert set(data) == {"error"}
    error: dict[str, Any] = data["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["code"], error["type"]) == (code, kind)
    assert error["message"]
    return error


# --- the official SDK over a real socket ---------------------------------------------------------------------------
@dataclass
class Served:
    url: str
    key: str
    user: User
    services: Services

    def sdk(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=f"{self.url}/v1", api_key=self.key, max_retries=0)


@pytest.fixture
async def served(settings: Settings, store: Store, fake: FakeUpstream) -> AsyncIterator[Served]:
    services = await build_services(settings.model_copy(update=CHEAP_HASHING), store)
    app: Quart = create_app(services)
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")})
    user = await new_user(store, settings)
    _, key = await create_api_key(store, user.id, "sdk", time.time())
    count_tokens("warm up", MODEL)  # the first tokenizer load takes ~1 s of CPU; keep it out of timed checks
    try:
        async with serve_app(app) as url:
            yield Served(url, key, user, services)
    finally:
        await services.close()


async def test_the_openai_sdk_streams_and_non_streams_with_an_api_key(served: Served, store: Store) -> None:
    client = served.sdk()
    try:
        stream = await client.chat.completions.create(
            model=MODEL, messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
        completion = await client.chat.completions.create(model=MODEL, messages=HELLO)
        listed = [model.id async for model in client.models.list()]
    finally:
        await client.close()
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text_of(8)
    usage = chunks[-1].usage
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (9, 8)
    assert completion.choices[0].message.content == text_of(8)
    assert completion.usage is not None and completion.usage.completion_tokens == 8
    assert listed == [MODEL]
    assert await window_count(store, served.user.id) == 2
    now = served.services.clock()
    assert await eventually(lambda: _usage_is(store, served.user.id, now, (2, 18, 16)))


async def _usage_is(store: Store, user_id: int, now: float, expected: tuple[int, int, int]) -> bool:
    return await usage_totals(store, user_id, now) == expected


async def test_the_openai_sdk_sees_openai_errors(served: Served, store: Store) -> None:
    await set_words(store, ["forbidden"])
    client = served.sdk()
    bad_key = openai.AsyncOpenAI(base_url=f"{served.url}/v1", api_key="sk-not-a-key", max_retries=0)
    try:
        with pytest.raises(openai.NotFoundError) as missing:
            await client.chat.completions.create(model="gpt-9", messages=HELLO)
        with pytest.raises(openai.AuthenticationError):
            await bad_key.chat.completions.create(model=MODEL, messages=HELLO)
        with pytest.raises(openai.BadRequestError) as empty:
            await client.chat.completions.create(model=MODEL, messages=[])
    finally:
        await client.close()
        await bad_key.close()
    assert missing.value.code == "model_not_found"
    assert empty.value.code == "invalid_input" and empty.value.param == "messages"
    assert await window_count(store, served.user.id) == 0


async def test_a_caller_that_disconnects_closes_the_upstream_within_a_second(
    served: Served, store: Store, fake: FakeUpstream
) -> None:
    fake.behaviour = Behaviour(chunks=100, chunk_delay=0.05)
    body = {"model": MODEL, "messages": HELLO, "stream": True}
    headers = {"Authorization": f"Bearer {served.key}"}
    async with aiohttp.ClientSession() as session:
        response = await session.post(f"{served.url}{CHAT}", json=body, headers=headers)
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        received = b""
        while piece(2).encode() not in received:
            received += await response.content.readany()
        response.close()  # hang up mid-stream
    await asyncio.wait_for(fake.disconnected.wait(), 1.0)
    assert fake.completed == 0
    now = served.services.clock()

    async def charged_for_part() -> bool:
        requests, _, completion = await usage_totals(store, served.user.id, now)
        return requests == 1 and count_tokens(text_of(3), MODEL) <= completion < count_tokens(text_of(100), MODEL)

    assert await eventually(charged_for_part)


# --- quotas and errors through the Quart test client ---------------------------------------------------------------
async def test_200_concurrent_requests_against_a_limit_of_10(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    caller = await make_caller(make_app, store, fake, limit=10, MAX_STREAMS_PER_USER=0)  # the window alone
    responses = await asyncio.gather(*(caller.chat(stream=True) for _ in range(200)))
    ok = [r for r in responses if r.status_code == 200]
    limited = [r for r in responses if r.status_code == 429]
    assert (len(ok), len(limited)) == (10, 190)
    assert await window_count(store, caller.user_id) == 10
    assert len(fake.chat_requests) == 10
    for response in ok:
        assert content_of(sse_events(await response.get_data())) == text_of(8)
    error = assert_openai_error(await limited[0].get_json(), "rate_limit_exceeded", "requests")
    retry_after = int(limited[0].headers["Retry-After"])
    assert 0 < retry_after <= 3 * 3600
    assert f"Try again in {retry_after}s" in error["message"]


async def test_the_daily_token_cap_is_a_429_with_the_wait_until_midnight_utc(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    caller = await make_caller(make_app, store, fake)
    await set_plan(store, {MODEL: (10, "3h")}, daily_tokens=30)
    # It reserves its prompt + max_tokens (~18 <= 30) and then counts its real usage (17): the next ~18 do not fit.
    assert (await caller.chat(max_tokens=10)).status_code == 200
    for second in range(3):  # the fast path (a remembered key) answers the same as the first, ordinary one
        before = time.time()
        refused = await caller.chat(stream=second == 1, max_tokens=10)
        assert refused.status_code == 429
        error = assert_openai_error(await refused.get_json(), "rate_limit_exceeded", "tokens")
        retry_after = int(refused.headers["Retry-After"])
        assert 0 < retry_after <= 86_400 - before % 86_400 + 1  # the wait from the moment of the request
        assert "00:00 UTC" in error["message"]
    web = await caller.client.post("/api/chat", json={"model": MODEL, "content": "Hi"}, headers=caller.auth.headers)
    assert web.status_code == 429 and (await web.get_json())["error"]["code"] == "daily_tokens_exceeded"
    assert await window_count(store, caller.user_id) == 1


async def test_a_usage_chunk_is_given_when_asked_for_and_the_upstream_sent_none(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    caller = await make_caller(make_app, store, fake)
    fake.behaviour = Behaviour(usage=False)
    for asked in (True, False, True):  # the ordinary path first, then the fast one
        response = await caller.chat(stream=True, stream_options={"include_usage": asked})
        events = sse_events(await response.get_data())
        assert content_of(events) == text_of(8) and events[-1] == "[DONE]"
        usage_chunks = [event for event in events[:-1] if event.get("usage")]
        if not asked:
            assert usage_chunks == []
            continue
        assert usage_chunks == [events[-2]] and events[-2]["choices"] == []
        usage = events[-2]["usage"]
        assert usage["completion_tokens"] == count_tokens(text_of(8), MODEL)
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > usage["completion_tokens"]


async def test_a_non_stream_call_returns_the_upstream_json(make_app: MakeApp, store: Store, fake: FakeUpstream) -> None:
    caller = await make_caller(make_app, store, fake)
    response = await caller.chat()
    assert response.status_code == 200 and response.content_type == "application/json"
    data = await response.get_json()
    assert data["object"] == "chat.completion" and data["choices"][0]["message"]["content"] == text_of(8)


async def test_a_stream_is_forwarded_as_sse(make_app: MakeApp, store: Store, fake: FakeUpstream) -> None:
    caller = await make_caller(make_app, store, fake)
    response = await caller.chat(stream=True)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Cache-Control"] == "no-cache"
    events = sse_events(await response.get_data())
    assert events[-1] == "[DONE]" and content_of(events) == text_of(8)
    assert not any(isinstance(e, dict) and e.get("usage") for e in events)  # not asked for: not forwarded


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        ({"model": "gpt-9", "messages": HELLO}, 404, "model_not_found", "model"),
        ({"model": MODEL, "messages": []}, 400, "invalid_input", "messages"),
        ({"model": MODEL}, 400, "invalid_input", "messages"),
        ({"messages": HELLO}, 400, "invalid_input", "model"),
        ({"model": MODEL, "messages": [{"role": "user", "content": 5}]}, 400, "invalid_input", "messages[0].content"),
        ({"model": MODEL, "messages": HELLO, "max_tokens": "x"}, 400, "invalid_input", "max_tokens"),
        ({"model": MODEL, "messages": [{"role": "user", "content": "x" * 5000}]}, 413, "payload_too_large", None),
    ],
)
async def test_bad_requests_get_openai_errors_and_consume_nothing(
    make_app: MakeApp, store: Store, fake: FakeUpstream, body: dict[str, Any], status: int, code: str, param: str | None
) -> None:
    caller = await make_caller(make_app, store, fake, V1_MAX_BODY_BYTES=4000)
    response = await caller.client.post(CHAT, json=body, headers=caller.headers)
    assert response.status_code == status
    assert assert_openai_error(await response.get_json(), code)["param"] == param
    assert await window_count(store, caller.user_id) == 0 and fake.chat_requests == []


async def test_invalid_json_unknown_urls_and_missing_keys(make_app: MakeApp, store: Store, fake: FakeUpstream) -> None:
    caller = await make_caller(make_app, store, fake)
    response = await caller.client.post(CHAT, data=b"{not json", headers={**caller.headers, **JSON})
    assert response.status_code == 400
    assert_openai_error(await response.get_json(), "invalid_input")
    anonymous = caller.client.app.test_client()  # no session cookie
    response = await anonymous.post(CHAT, json={"model": MODEL, "messages": HELLO})
    assert response.status_code == 401
    assert_openai_error(await response.get_json(), "invalid_api_key")
    response = await caller.client.get("/v1/engines", headers=caller.headers)
    assert response.status_code == 404
    assert_openai_error(await response.get_json(), "unknown_url")


async def test_all_upstreams_down_is_503_and_nothing_charged(make_app: MakeApp, store: Store) -> None:
    async with (
        FakeUpstream(behaviour=Behaviour(status=500)) as one,
        FakeUpstream(behaviour=Behaviour(status=502)) as two,
    ):
        caller = await make_caller(make_app, store, one)
        await add_model(store, [one, two])
        response = await caller.chat(stream=True)
        assert response.status_code == 503
        assert_openai_error(await response.get_json(), "upstream_unavailable", "server_error")
    assert await window_count(store, caller.user_id) == 0


async def test_an_upstream_refusal_is_the_callers_400_and_refunded(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    caller = await make_caller(make_app, store, fake)
    fake.behaviour = Behaviour(status=400, error_code="context_length_exceeded")
    response = await caller.chat(stream=True)
    assert response.status_code == 400
    assert_openai_error(await response.get_json(), "context_length_exceeded")
    fake.behaviour = Behaviour(status=400, error_code="invalid_value")
    response = await caller.chat(stream=True)
    assert response.status_code == 400  # the upstream's own code, typed as OpenAI types a refused request
    assert_openai_error(await response.get_json(), "invalid_value", "invalid_request_error")
    fake.behaviour = Behaviour(status=400)
    response = await caller.chat()
    assert_openai_error(await response.get_json(), "invalid_request_error")  # no code given: its type
    assert await window_count(store, caller.user_id) == 0


async def test_malformed_sse_from_the_upstream_is_an_openai_error_and_charges_nothing(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    caller = await make_caller(make_app, store, fake)
    fake.behaviour = Behaviour(malformed_after=0)
    response = await caller.chat(stream=True)
    if response.status_code == 200:  # the bad line came after the first event: an error event ends the stream
        events = sse_events(await response.get_data())
        assert events[-1] == "[DONE]"
        assert_openai_error(events[-2], "upstream_malformed", "server_error")
    else:  # it came with the first event: no upstream could answer
        assert response.status_code == 503
        assert_openai_error(await response.get_json(), "upstream_unavailable", "server_error")
    assert await window_count(store, caller.user_id) == 0


async def test_moderation_blocks_input_before_quota_and_stops_output(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    caller = await make_caller(make_app, store, fake, TEXT_SECURITY=["keywords"])
    await set_words(store, ["forbidden", piece(3).strip()])
    response = await caller.chat(messages=[{"role": "user", "content": "something forbidden"}], stream=True)
    assert response.status_code == 400
    assert assert_openai_error(await response.get_json(), "content_filter")["param"] == "messages"
    assert await window_count(store, caller.user_id) == 0 and fake.chat_requests == []

    fake.behaviour = Behaviour(chunk_delay=0.02)
    response = await caller.chat(stream=True)
    events = sse_events(await response.get_data())
    assert content_of(events) == text_of(3)
    assert events[-1] == "[DONE]"
    assert_openai_error(events[-2], "content_filter")
    response = await caller.chat()
    assert response.status_code == 400
    assert_openai_error(await response.get_json(), "content_filter")


async def test_a_web_session_may_call_v1_with_its_csrf_token(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    app = await make_app(**CHEAP_HASHING)
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")})
    client = app.test_client()
    auth = AuthActions(client)
    await auth.register()
    body = {"model": MODEL, "messages": HELLO}
    response = await client.post(CHAT, json=body)
    assert response.status_code == 403
    assert_openai_error(await response.get_json(), "csrf_failed")
    response = await client.post(CHAT, json=body, headers=auth.headers)
    assert response.status_code == 200
    assert (await response.get_json())["choices"][0]["message"]["content"] == text_of(8)
    models = await client.get("/v1/models")
    listed = await models.get_json()
    created = listed["data"][0]["created"]
    assert abs(created - time.time()) < 60  # when the model was added
    assert listed == {
        "object": "list",
        "data": [{"id": MODEL, "object": "model", "created": created, "owned_by": "chatgate"}],
    }
    assert (await client.get(f"/v1/models/{MODEL}")).status_code == 200
    assert (await client.get("/v1/models/gpt-9")).status_code == 404
