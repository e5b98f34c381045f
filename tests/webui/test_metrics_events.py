"""Each metric of the chat path, read through the dashboard's `GET /metrics` after driving the event for real: quota
denials, moderation blocks, channel messages of the web and the API, upstream outcomes and failovers, streams."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import orjson
import pytest

from core.billing.plans import Limit, Plan, save_plan
from core.moderation import set_words
from core.moderation.config import update_moderation
from core.services import Services
from core.site.audit import Actor
from core.store.connection import Store
from tests.chat_support import MODEL, add_model, eventually, set_plan
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, piece
from tests.metrics_support import labelled, scrape
from tests.webui.conftest import AuthActions, MakeApp
from tests.webui.v1_support import CHAT, make_caller

OTHER = "other-model"
DENIALS = "chatgate_quota_denials_total"
MESSAGES = "chatgate_channel_messages_total"


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        yield upstream


def denial(reason: str, channel: str, model: str = MODEL) -> str:
    return labelled(DENIALS, channel=channel, model=model, reason=reason)


async def test_web_chats_count_messages_in_and_out_and_the_plan_limits_refusals(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    app = await make_app()
    await add_model(store, [fake])
    await add_model(store, [fake], model_id=OTHER)
    await set_plan(store, {MODEL: (1, "1h")})  # OTHER is not in the plan
    auth = AuthActions(app.test_client())
    await auth.register("web@example.com")

    async def send(model: str) -> int:
        response = await auth.client.post("/api/chat", json={"model": model, "content": "Hi"}, headers=auth.headers)
        await response.get_data()
        return response.status_code

    assert [await send(MODEL), await send(MODEL), await send(OTHER)] == [200, 429, 403]
    seen = await scrape(app.extensions["services"])
    assert seen[denial("rate_limit_exceeded", "web")] == 1
    assert seen[denial("model_not_in_plan", "web", OTHER)] == 1
    assert seen[labelled(MESSAGES, channel="web", direction="in")] == 3
    assert seen[labelled(MESSAGES, channel="web", direction="out")] == 1  # only the answered one
    assert seen[labelled("chatgate_active_streams", channel="web")] == 0  # opened, and closed again
    assert not any("user" in series or "web@example.com" in series for series in seen)  # no user in any label


async def test_api_calls_count_once_on_either_path_and_their_refusals(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    caller = await make_caller(make_app, store, fake, limit=2)
    assert (await caller.chat()).status_code == 200  # a key this process has not seen: the ordinary path
    assert (await caller.chat()).status_code == 200  # then the one-round-trip path
    refused = await caller.chat()  # the fast path refuses it: counted there, not again on the ordinary path
    assert refused.status_code == 429
    capped = Plan("free", "Free", {}, {MODEL: Limit(10, "1h")}, max_tokens=50)
    await save_plan(store, capped)  # written through this process's store client: seen at once
    too_big = await caller.chat(max_tokens=500)
    assert too_big.status_code == 400 and (await too_big.get_json())["error"]["code"] == "plan_cap_exceeded"
    seen = await scrape(caller.app.extensions["services"])
    assert seen[denial("rate_limit_exceeded", "api")] == 1
    assert seen[denial("plan_cap_exceeded", "api")] == 1
    assert seen[labelled(MESSAGES, channel="api", direction="in")] == 4
    assert seen[labelled(MESSAGES, channel="api", direction="out")] == 2
    route = labelled("chatgate_http_requests_total", app="webui", method="POST", route=CHAT, status=429)
    assert seen[route] == 1


async def test_moderation_blocks_are_counted_by_direction_and_channel_also_after_a_policy_change(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    caller = await make_caller(make_app, store, fake, TEXT_SECURITY=["keywords"])
    await set_words(store, ["forbidden", piece(3).strip()])  # the answer's fourth piece is blocked on the way out
    services: Services = caller.app.extensions["services"]
    said = await caller.chat(messages=[{"role": "user", "content": "so forbidden"}])
    assert said.status_code == 400
    # The dashboard changes the policy: the pipeline is rebuilt and must keep counting into the process's metrics.
    await update_moderation(services.moderation, Actor(1, "root"), fail_open=True, now=time.time())
    web = await caller.client.post(
        "/api/chat", json={"model": MODEL, "content": "forbidden too"}, headers=caller.auth.headers
    )
    assert web.status_code == 400
    answered = await caller.chat(stream=True)
    assert b"content_filter" in await answered.get_data()
    seen = await scrape(services)
    blocks = "chatgate_moderation_blocks_total"
    assert seen[labelled(blocks, channel="api", direction="input", provider="keywords")] == 1
    assert seen[labelled(blocks, channel="web", direction="input", provider="keywords")] == 1
    assert seen[labelled(blocks, channel="api", direction="output", provider="keywords")] == 1


async def test_upstream_refusals_stream_faults_and_failovers_are_counted_per_upstream(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    async with FakeUpstream() as backup:
        caller = await make_caller(make_app, store, fake)
        await add_model(store, [fake, backup])  # up0 first, up1 as the fallback
        fake.script = [Behaviour(status=500), Behaviour(status=400), Behaviour(break_after=2)]
        assert (await caller.chat()).status_code == 200  # up0 fails, up1 answers
        assert (await caller.chat()).status_code == 400  # up0 refuses the request: no failover
        broken = await caller.chat(stream=True)
        assert b'"error"' in await broken.get_data()  # up0 broke off mid-stream
        seen = await scrape(caller.app.extensions["services"])
    outcomes = "chatgate_upstream_requests_total"
    assert seen[labelled(outcomes, outcome="failed", upstream="up0")] == 1
    assert seen[labelled(outcomes, outcome="ok", upstream="up1")] == 1
    assert seen[labelled(outcomes, outcome="refused", upstream="up0")] == 1
    assert seen[labelled(outcomes, outcome="ok", upstream="up0")] == 1
    assert seen[labelled("chatgate_upstream_stream_faults_total", upstream="up0")] == 1
    assert seen[labelled("chatgate_upstream_failovers_total", model=MODEL, upstream="up1")] == 1
    assert seen[labelled("chatgate_upstream_first_byte_seconds_count", upstream="up1")] == 1


async def test_a_stream_is_counted_while_it_runs(make_app: MakeApp, store: Store, fake: FakeUpstream) -> None:
    caller = await make_caller(make_app, store, fake)
    services: Services = caller.app.extensions["services"]
    fake.behaviour = Behaviour(pause_after=1, pause=60.0)  # the answer stops half-way until the caller leaves
    gauge = labelled("chatgate_active_streams", channel="api")
    body = orjson.dumps({"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "Hi"}]})
    headers = {**caller.headers, "Content-Type": "application/json"}
    async with caller.client.request(CHAT, method="POST", headers=headers) as connection:
        await connection.send(body)
        await connection.send_complete()
        assert b"word0" in await connection.receive()  # the first piece: the answer is streaming
        assert (await scrape(services))[gauge] == 1
        await connection.disconnect()  # the caller hangs up

    async def closed() -> bool:
        return (await scrape(services))[gauge] == 0

    assert await eventually(closed, seconds=5)


async def test_a_made_up_http_method_is_no_new_series(make_app: MakeApp, store: Store) -> None:
    app = await make_app()
    client = app.test_client()
    for method in ("BREW", "WHEN", "PROPFIND"):
        await client.open("/healthz", method=method)
    seen = await scrape(app.extensions["services"])
    assert not [series for series in seen if 'method="BREW"' in series or 'method="WHEN"' in series]
    assert seen[labelled("chatgate_http_requests_total", app="webui", method="other", route="unmatched",
                         status=405)] == 3  # fmt: skip
