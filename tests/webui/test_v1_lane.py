"""The /v1 fast lane (webui.v1_lane): a remembered key's chat calls answered at the ASGI level, exactly as the Quart
path answers them; everything else, and whatever the fast path declines, left to Quart."""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

import core.chat.charge
import webui.v1_lane
from core.accounts.api_keys import create_api_key
from core.accounts.users import User
from core.services import Services, build_services
from core.settings import Settings
from core.store.connection import Store
from tests.chat_support import CHEAP_HASHING, MODEL, add_model, eventually, new_user, serve_app, set_plan, usage_totals
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, piece
from tests.webui.conftest import MakeApp
from tests.webui.v1_support import CHAT, HELLO, Caller, make_caller
from webui import create_app

# What the test client cannot see: Hypercorn adds `date`; the body's length is the lane's own header.
SERVER_ADDED = {"date", "content-length"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        yield upstream


@pytest.fixture
def lane_calls(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every call the lane put to the fast path: True when it answered it there."""
    calls: list[bool] = []
    original = webui.v1_lane.relay_api_key_chat

    async def counted(*args: Any) -> Any:
        done = await original(*args)
        calls.append(done is not None)
        return done

    monkeypatch.setattr(webui.v1_lane, "relay_api_key_chat", counted)
    return calls


async def remembered(make_app: MakeApp, store: Store, fake: FakeUpstream, **settings: Any) -> Caller:
    caller = await make_caller(make_app, store, fake, **settings)
    assert (await caller.chat()).status_code == 200  # the key's first use: resolved the usual way, then remembered
    return caller


async def test_the_lane_answers_with_the_headers_and_bodies_of_the_quart_path(
    make_app: MakeApp, store: Store, fake: FakeUpstream, lane_calls: list[bool]
) -> None:
    caller = await make_caller(make_app, store, fake)
    offered = {**caller.headers, "X-Request-Id": "trace-42"}
    body = {"model": MODEL, "messages": HELLO}
    owners = caller.app.extensions["services"].store.api_key_owners
    for stream in (False, True):
        owners.clear()  # the key's next use is resolved the usual way: the Quart path answers it
        lane_calls.clear()
        first = await caller.client.post(CHAT, json={**body, "stream": stream}, headers=offered)
        fast = await caller.client.post(CHAT, json={**body, "stream": stream}, headers=offered)
        assert lane_calls == [True]  # only the second went through the lane
        assert first.status_code == fast.status_code == 200
        assert set(first.headers.keys()) - SERVER_ADDED == set(fast.headers.keys()) - SERVER_ADDED
        for name in ("Content-Type", "X-Content-Type-Options", "X-Request-Id", "X-Ratelimit-Limit-Requests"):
            assert first.headers[name] == fast.headers[name], name
        assert fast.headers["X-Request-Id"] == "trace-42"
        assert int(fast.headers["X-Ratelimit-Remaining-Requests"]) < int(
            first.headers["X-Ratelimit-Remaining-Requests"]
        )
        assert "Content-Security-Policy" not in fast.headers
        data = await fast.get_data()
        if stream:
            assert fast.headers["Cache-Control"] == "no-cache" and data.endswith(b"data: [DONE]\n\n")
            assert piece(0).encode() in data
        else:
            assert int(fast.headers["Content-Length"]) == len(data)
            assert orjson.loads(data)["object"] == "chat.completion"


async def test_a_big_answer_is_gzipped_when_the_caller_accepts_it(
    make_app: MakeApp, store: Store, fake: FakeUpstream, lane_calls: list[bool]
) -> None:
    caller = await remembered(make_app, store, fake)
    fake.behaviour = Behaviour(chunks=200)
    zipped = await caller.client.post(
        CHAT, json={"model": MODEL, "messages": HELLO}, headers={**caller.headers, "Accept-Encoding": "br, gzip;q=0.5"}
    )
    plain = await caller.client.post(
        CHAT, json={"model": MODEL, "messages": HELLO}, headers={**caller.headers, "Accept-Encoding": "gzip;q=0"}
    )
    assert lane_calls == [True, True]
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.headers["Vary"] == "Accept-Encoding"
    assert "Content-Encoding" not in plain.headers
    assert (
        orjson.loads(gzip.decompress(await zipped.get_data()))["choices"][0]["message"]["content"]
        == orjson.loads(await plain.get_data())["choices"][0]["message"]["content"]
    )


async def test_calls_the_lane_does_not_take_get_the_quart_paths_answers(
    make_app: MakeApp, store: Store, fake: FakeUpstream, lane_calls: list[bool]
) -> None:
    caller = await remembered(make_app, store, fake, V1_MAX_BODY_BYTES=2000, V1_CORS_ORIGINS=["https://app.example"])
    browser = await caller.client.post(
        CHAT, json={"model": MODEL, "messages": HELLO}, headers={**caller.headers, "Origin": "https://app.example"}
    )
    assert browser.status_code == 200 and browser.headers["Access-Control-Allow-Origin"] == "https://app.example"
    not_json = await caller.client.post(CHAT, data=b"{}", headers={**caller.headers, "Content-Type": "text/plain"})
    assert not_json.status_code == 415
    big = {"model": MODEL, "messages": [{"role": "user", "content": "x" * 3000}]}
    assert (await caller.client.post(CHAT, json=big, headers=caller.headers)).status_code == 413
    broken = await caller.client.post(
        CHAT, data=b"{not json", headers={**caller.headers, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and (await broken.get_json())["error"]["code"] == "invalid_input"
    no_messages = await caller.client.post(CHAT, json={"model": MODEL, "messages": []}, headers=caller.headers)
    assert no_messages.status_code == 400 and (await no_messages.get_json())["error"]["param"] == "messages"
    assert lane_calls == []  # none of them reached the fast path: Quart answered each, as before the lane


async def test_the_lanes_refusals_are_openai_errors_with_their_headers(
    make_app: MakeApp, store: Store, fake: FakeUpstream, lane_calls: list[bool]
) -> None:
    caller = await make_caller(make_app, store, fake, limit=2)
    assert (await caller.chat()).status_code == 200
    assert (await caller.chat(stream=True)).status_code == 200
    refused = await caller.chat(stream=True)
    assert lane_calls == [True, True]
    assert refused.status_code == 429
    error = (await refused.get_json())["error"]
    assert (error["code"], error["type"]) == ("rate_limit_exceeded", "requests")
    assert int(refused.headers["Retry-After"]) >= 1 and refused.headers["X-Ratelimit-Remaining-Requests"] == "0"
    assert refused.headers["X-Request-Id"].startswith("req_")
    assert refused.headers["X-Content-Type-Options"] == "nosniff"
    fake.behaviour = Behaviour(status=503)
    await set_plan(store, {MODEL: (10, "3h")})
    failed = await caller.chat()
    assert failed.status_code == 503 and (await failed.get_json())["error"]["type"] == "server_error"
    metrics = caller.app.extensions["services"].metrics.pending
    counted = [series for series in metrics if series.startswith("chatgate_http_requests_total")]
    assert any('route="/v1/chat/completions"' in series and 'status="429"' in series for series in counted)


async def lane_setup(settings: Settings, store: Store, fake: FakeUpstream) -> tuple[Services, User, dict[str, str]]:
    """Services of their own (to serve with `serve_app`), the fake's model, a plan, a user and its key's headers."""
    services = await build_services(settings.model_copy(update=CHEAP_HASHING), store)
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")})
    user = await new_user(store, settings)
    _, key = await create_api_key(store, user.id, "lane", time.time())
    return services, user, {"Authorization": f"Bearer {key}"}


async def test_a_caller_hanging_up_mid_stream_in_the_lane_closes_the_upstream(
    settings: Settings, store: Store, fake: FakeUpstream, lane_calls: list[bool]
) -> None:
    services, user, headers = await lane_setup(settings, store, fake)
    try:
        async with serve_app(create_app(services)) as url, aiohttp.ClientSession() as session:
            body = {"model": MODEL, "messages": HELLO}
            async with session.post(f"{url}{CHAT}", json=body, headers=headers) as first:
                assert first.status == 200  # remembers the key
            fake.behaviour = Behaviour(chunks=100, chunk_delay=0.05)
            response = await session.post(f"{url}{CHAT}", json={**body, "stream": True}, headers=headers)
            assert response.status == 200 and lane_calls == [True]
            received = b""
            while piece(2).encode() not in received:
                received += await response.content.readany()
            response.close()  # hang up mid-stream
            await asyncio.wait_for(fake.disconnected.wait(), 1.0)
            now = services.clock()

            async def both_settled() -> bool:
                requests, _, completion = await usage_totals(store, user.id, now)
                return requests == 2 and completion > 0

            assert await eventually(both_settled)
            assert fake.completed == 1  # only the first answer ran to its end
    finally:
        await services.close()


@pytest.mark.parametrize("lane", [True, False])
async def test_a_streamed_answer_ends_for_the_caller_only_once_it_is_settled(
    settings: Settings,
    store: Store,
    fake: FakeUpstream,
    lane_calls: list[bool],
    monkeypatch: pytest.MonkeyPatch,
    lane: bool,
) -> None:
    """The pieces flow as they come; the last one ([DONE]) and the end of the body wait for the call's usage and
    stream slot to be settled, so a caller that starts its next call at [DONE] finds its slot free (on the lane
    and on the Quart path alike)."""
    services, user, headers = await lane_setup(settings, store, fake)
    gate = asyncio.Event()
    original = core.chat.charge.record_usage

    async def held(*args: Any, **kwargs: Any) -> Any:
        await gate.wait()
        return await original(*args, **kwargs)

    try:
        async with serve_app(create_app(services)) as url, aiohttp.ClientSession() as session:
            body = {"model": MODEL, "messages": HELLO}
            async with session.post(f"{url}{CHAT}", json=body, headers=headers) as first:
                assert first.status == 200  # remembers the key
            monkeypatch.setattr(core.chat.charge, "record_usage", held)
            if not lane:
                services.store.api_key_owners.clear()  # a key not remembered: the Quart path answers
            fake.behaviour = Behaviour(chunks=4, chunk_delay=0.02)
            async with session.post(f"{url}{CHAT}", json={**body, "stream": True}, headers=headers) as response:
                assert response.status == 200 and lane_calls == ([True] if lane else [])
                received = b""
                while piece(0).encode() not in received:
                    received += await response.content.readany()
                with pytest.raises(TimeoutError):  # the upstream is done; its end waits for the settlement
                    async with asyncio.timeout(0.5):
                        while True:
                            received += await response.content.readany()
                assert piece(2).encode() in received and b"[DONE]" not in received
                requests, _, _ = await usage_totals(store, user.id, services.clock())
                assert requests == 1  # the second call is not counted yet
                gate.set()
                received += await response.content.read()
            assert piece(3).encode() in received and received.endswith(b"data: [DONE]\n\n")
            requests, _, _ = await usage_totals(store, user.id, services.clock())
            assert requests == 2  # counted before the caller saw the end
    finally:
        gate.set()
        await services.close()


async def test_a_body_that_does_not_arrive_in_time_is_a_408_in_openai_shape(
    make_app: MakeApp, store: Store, fake: FakeUpstream, lane_calls: list[bool]
) -> None:
    caller = await remembered(make_app, store, fake)
    caller.app.asgi_app._body_timeout = 0.2  # type: ignore[attr-defined]  # BODY_TIMEOUT, read when the app is made
    headers = {**caller.headers, "Content-Type": "application/json"}
    async with caller.client.request(CHAT, method="POST", headers=headers) as connection:
        await connection.send(b'{"model": ')  # and nothing more

        async def answered() -> bool:
            return connection.status_code is not None

        assert await eventually(answered, 5)
        response = await connection.as_response()
    assert response.status_code == 408 and lane_calls == []
    error = (await response.get_json())["error"]
    assert (error["code"], error["type"]) == ("http_error", "invalid_request_error")
    assert response.headers["X-Request-Id"].startswith("req_")
