"""Settling a chat call when the store goes away: retried until it is back, and done once however often it is sent."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from core.accounts.api_keys import create_api_key
from core.billing.quotas import Consumption, consume_quota, tokens_used_today
from core.billing.usage import record_usage, site_usage
from core.chat import turns
from core.chat.events import ChatStart
from core.chat.messages import get_messages
from core.chat.turns import ChatTurn, close_turn, open_turn, prepare_turn
from core.settings import Settings
from core.store.connection import Store
from core.store.embedded import EmbeddedStore
from tests.chat_support import MODEL, add_model, eventually, new_user, set_plan, usage_totals, window_count
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, text_of
from tests.faults.conftest import MakeOwnApp, kill_store
from tests.webui.conftest import AuthActions, MakeApp, make_app  # noqa: F401  # the fixture


async def test_a_settlement_sent_again_counts_once(store: Store, settings: Settings) -> None:
    user = await new_user(store, settings)
    plan = await set_plan(store, {MODEL: (10, "3h")}, daily_tokens=1_000)
    now = time.time()
    ticket = await consume_quota(store, user.id, plan, MODEL, now, Consumption(reserve=300))
    assert await tokens_used_today(store, user.id, now) == 300  # the reservation
    first = await record_usage(store, user.id, MODEL, 20, 30, now, daily_tokens=True, ticket=ticket)
    again = await record_usage(store, user.id, MODEL, 20, 30, now, daily_tokens=True, ticket=ticket, again=True)
    assert (first, again) == (True, False)
    assert await usage_totals(store, user.id, now) == (1, 20, 30)
    assert await tokens_used_today(store, user.id, now) == 50  # the reservation replaced by the usage, once
    (site,) = [row for row in await site_usage(store, 1, now) if row.model == MODEL]
    assert (site.requests, site.prompt_tokens, site.completion_tokens) == (1, 20, 30)
    other = await consume_quota(store, user.id, plan, MODEL, now, Consumption(reserve=300))
    assert await record_usage(store, user.id, MODEL, 1, 2, now, daily_tokens=True, ticket=other, again=True)
    assert await usage_totals(store, user.id, now) == (2, 21, 32)  # a first attempt marked `again` counts


async def test_on_one_store_the_sites_counts_follow_the_users_once_even_unmarked(
    store: Store, settings: Settings
) -> None:
    """On one store settling is one script: a settlement sent twice without `again` (its first answer lost before
    the caller knew it was sent) still counts the site once. A cluster needs `again` for that (three scripts)."""
    if store.scripts.cluster:
        pytest.skip("on a cluster the site's counts are other scripts: `again` keeps them once")
    user = await new_user(store, settings)
    plan = await set_plan(store, {MODEL: (10, "3h")})
    now = time.time()
    ticket = await consume_quota(store, user.id, plan, MODEL, now, Consumption())
    results = [await record_usage(store, user.id, MODEL, 5, 7, now, ticket=ticket) for _ in range(2)]
    assert results == [True, False]
    (site,) = [row for row in await site_usage(store, 1, now) if row.model == MODEL]
    assert (site.requests, site.prompt_tokens, site.completion_tokens) == (1, 5, 7)
    assert await usage_totals(store, user.id, now) == (1, 5, 7)


async def test_an_answer_saved_again_is_saved_once(store: Store, settings: Settings) -> None:
    user = await new_user(store, settings)
    prepared = await prepare_turn(store, settings, user.id, ChatTurn(content="Hello"))
    start: ChatStart = await open_turn(store, settings, user.id, prepared, MODEL, time.time())
    for again in (False, True, True):
        await close_turn(store, settings, user.id, prepared, start, "Hi there", MODEL, time.time(), 3, again=again)
    messages = await get_messages(store, user.id, start.conversation_id)
    assert [(m.role, m.content) for m in messages] == [("user", "Hello"), ("assistant", "Hi there")]


async def test_an_answer_finished_while_the_store_is_away_is_settled_when_it_is_back(
    own_store: EmbeddedStore, own_client: Store, make_own_app: MakeOwnApp
) -> None:
    await set_plan(own_client, {MODEL: (10, "3h")})
    # Seven pieces at once, then silence while the store is killed; the last piece and the end come while it is away.
    async with FakeUpstream(behaviour=Behaviour(chunks=8, pause_after=7, pause=1.0)) as upstream:
        await add_model(own_client, [upstream])
        app = await make_own_app()
        auth = AuthActions(app.test_client())
        await auth.register()
        user_id = int(auth.user["id"])
        body = {"model": MODEL, "content": "Hello"}
        answer = asyncio.ensure_future(auth.client.post("/api/chat", json=body, headers=auth.headers))

        async def turn_open() -> bool:  # its last write: the conversation is the web's current one
            return bool(await own_client.redis.exists(own_client.keys.channel_context(user_id, "web", "")))

        assert await eventually(turn_open, 5)
        await kill_store(own_store)
        await asyncio.sleep(1.5)  # the answer ended meanwhile: its settlement waits for the store
        await asyncio.to_thread(own_store.start)
        response = await asyncio.wait_for(answer, 15)
    events = [orjson.loads(block[6:]) for block in (await response.get_data()).split(b"\n\n") if block]
    assert events[-1]["type"] == "done", events
    assert "".join(event["content"] for event in events if event["type"] == "delta") == text_of(8)
    saved = await get_messages(own_client, user_id, events[0]["conversation_id"])
    assert [(m.role, m.content) for m in saved] == [("user", "Hello"), ("assistant", text_of(8))]
    assert (await usage_totals(own_client, user_id, time.time()))[0] == 1


def _answer_lost(store: Store, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """Make `script` run in the store and then fail as if the store died before it answered."""
    run = store.scripts.run

    async def ran_then_lost(name: str, keys: list[str], args: list[Any] | None = None) -> Any:
        result = await run(name, keys, args or [])
        if name == script:
            raise RedisConnectionError("Connection closed by server.")
        return result

    monkeypatch.setattr(store.scripts, "run", ran_then_lost)


async def test_a_consume_whose_answer_was_lost_is_given_back(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await new_user(store, settings)
    plan = await set_plan(store, {MODEL: (10, "3h")}, daily_tokens=1_000)
    _answer_lost(store, monkeypatch, "consume_quota")
    with pytest.raises(RedisConnectionError):  # the caller answers 503: the call did not happen
        await consume_quota(store, user.id, plan, MODEL, time.time(), Consumption(300, streams=2, slot_seconds=60))

    async def given_back() -> bool:
        return await window_count(store, user.id) == 0

    assert await eventually(given_back)  # so it took nothing: no message, no reservation, no stream slot
    assert await tokens_used_today(store, user.id, time.time()) == 0
    assert await store.redis.zcard(store.keys.streams(user.id)) == 0


async def test_an_api_key_call_whose_consume_answer_was_lost_is_given_back(
    make_app: MakeApp,  # noqa: F811
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with FakeUpstream() as upstream:
        await add_model(store, [upstream])
        await set_plan(store, {MODEL: (10, "3h")})
        app = await make_app()
        auth = AuthActions(app.test_client())
        await auth.register()
        user_id = int(auth.user["id"])
        _, key = await create_api_key(store, user_id, "k", time.time())
        client, headers = app.test_client(), {"Authorization": f"Bearer {key}"}
        body = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}
        assert (await client.post("/v1/chat/completions", json=body, headers=headers)).status_code == 200
        _answer_lost(store, monkeypatch, "authorize_api_key_chat")  # the one-round-trip path of a known key
        lost = await client.post("/v1/chat/completions", json=body, headers=headers)
        assert lost.status_code == 503

        async def given_back() -> bool:
            return await window_count(store, user_id) == 1  # the first call only

        assert await eventually(given_back)
    assert len(upstream.chat_requests) == 1


async def test_a_conversation_created_for_a_turn_the_store_cut_short_is_removed(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await new_user(store, settings)
    prepared = await prepare_turn(store, settings, user.id, ChatTurn(content="Hello", system="Be brief."))
    real = turns.set_current_conversation

    async def store_died(*args: Any, **kwargs: Any) -> None:
        raise RedisConnectionError("Connection closed by server.")

    monkeypatch.setattr(turns, "set_current_conversation", store_died)  # the turn's last write
    with pytest.raises(RedisConnectionError):  # the caller answers 503 and refunds
        await open_turn(store, settings, user.id, prepared, MODEL, time.time())

    async def removed() -> bool:
        return await store.redis.zcard(store.keys.conversations(user.id)) == 0

    assert await eventually(removed)  # no empty conversation is left in the list
    monkeypatch.setattr(turns, "set_current_conversation", real)
    start = await open_turn(store, settings, user.id, prepared, MODEL, time.time())  # the user tries again
    messages = await get_messages(store, user.id, start.conversation_id)
    assert [(m.role, m.content) for m in messages] == [("system", "Be brief."), ("user", "Hello")]
