"""The /v1 hot path: one script resolves the key, the user and the plan and takes the slot; anything else falls back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.accounts.api_keys import authorize_api_key_chat, create_api_key, resolve_api_key_caller, revoke_api_key
from core.accounts.users import User, set_blocked
from core.billing.plans import Limit, Plan, cached_plans, delete_plan, save_plan
from core.billing.quotas import tokens_used_today
from core.billing.subscriptions import add_subscription, current_plan
from core.chat.api_key_fast_path import KeyChat, relay_api_key_chat
from core.chat.events import ChatDone
from core.chat.request import ChatRequest
from core.chat.token_count import count_message_tokens
from core.errors import LimitReached, ModelNotInPlan, QuotaExceeded
from core.moderation import set_words
from core.services import Services, build_services
from core.settings import Settings
from core.store.connection import Store
from tests.chat_support import MODEL, add_model, new_user, set_plan, usage_totals, window_count
from tests.fakes.openai_upstream import FakeUpstream

HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        yield upstream


@pytest.fixture
async def services(settings: Settings, store: Store, fake: FakeUpstream) -> AsyncIterator[Services]:
    built = await build_services(settings.model_copy(update={"TEXT_SECURITY": ["keywords"]}), store)
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (3, "1h")})
    try:
        yield built
    finally:
        await built.close()


async def seen_key(store: Store, user: User) -> str:
    """Create a key and resolve it once, as the first (ordinary) request does: its owner is now remembered."""
    _, key = await create_api_key(store, user.id, "k", time.time())
    assert await resolve_api_key_caller(store, key, time.time()) is not None
    return key


async def run(services: Services, key: str, **body: Any) -> KeyChat | None:
    """Run one call through the hot path to its end; return what it gave."""
    done = await relay_api_key_chat(services, key, ChatRequest.from_openai({"model": MODEL, "messages": HELLO, **body}))
    if done is not None and done.stream is not None:
        try:
            events = [event async for event in done.stream]
            assert isinstance(events[-1], ChatDone)
        finally:
            await done.stream.aclose()
    return done


async def test_a_remembered_key_is_answered_and_charged_exactly(
    services: Services, store: Store, settings: Settings
) -> None:
    user = await new_user(store, settings)
    key = await seen_key(store, user)
    done = await run(services, key, stream=True)
    assert done is not None and done.error is None and done.user.id == user.id
    assert await window_count(store, user.id) == 1
    assert (await usage_totals(store, user.id, time.time()))[0] == 1


async def test_refusals_take_nothing_and_fall_back(services: Services, store: Store, settings: Settings) -> None:
    await set_words(store, ["forbidden"])
    user = await new_user(store, settings)
    key = await seen_key(store, user)
    assert await run(services, "sk-" + "x" * 48) is None  # never seen: the ordinary path authenticates it
    blocked = ChatRequest.from_openai({"model": MODEL, "messages": [{"role": "user", "content": "a forbidden word"}]})
    assert await relay_api_key_chat(services, key, blocked) is None  # logged and refused by the ordinary path
    assert await run(services, key, model="gpt-9") is None  # unknown model: 404 after authentication
    await set_blocked(store, user.id, True)
    assert await run(services, key) is None
    await set_blocked(store, user.id, False)
    meta = await resolve_api_key_caller(store, key, time.time())
    assert meta is not None
    await revoke_api_key(store, user.id, meta.owner.key_id)
    assert await run(services, key) is None
    assert await window_count(store, user.id) == 0


async def test_plan_quota_and_daily_cap_errors_come_from_the_same_step(
    services: Services, store: Store, settings: Settings
) -> None:
    user = await new_user(store, settings)
    key = await seen_key(store, user)
    results = await asyncio.gather(*(run(services, key) for _ in range(20)))
    assert sum(r is not None and r.error is None for r in results) == 3  # atomic: exactly the limit
    refused = [r.error for r in results if r is not None and r.error is not None]
    assert len(refused) == 17 and all(isinstance(error, QuotaExceeded) for error in refused)
    assert 0 < refused[0].data["retry_after"] <= 3600
    await set_plan(store, {"other-model": (3, "1h")})
    done = await run(services, key)
    assert done is not None and isinstance(done.error, ModelNotInPlan) and done.error.data["plan"] == "free"
    await set_plan(store, {MODEL: (100, "1h")}, daily_tokens=30)
    # Reserves its prompt + max_tokens (~18 <= 30), then counts its real tokens (17): the next ~18 do not fit.
    assert (done := await run(services, key, max_tokens=10)) is not None and done.error is None
    done = await run(services, key, max_tokens=10)
    assert done is not None and isinstance(done.error, LimitReached)
    assert await window_count(store, user.id) == 4


@pytest.mark.parametrize(
    "subscriptions",
    [
        [],
        [("free", 0, 3600)],
        [("pro", 0, 3600)],
        [("pro", 0, 3600), ("max", 0, 3600)],  # queued: pro first, max after it
        [("pro", -7200, 3600)],  # ended
        [("gone", 0, 3600)],  # its plan was deleted: free
        [("free", 0, 3600), ("max", 0, 3600)],
    ],
)
async def test_the_script_picks_the_plan_current_plan_picks(
    services: Services, store: Store, settings: Settings, subscriptions: list[tuple[str, int, int]]
) -> None:
    for name, limit in (("pro", 5), ("max", 7), ("gone", 9)):
        await set_plan(store, {MODEL: (limit, "1h")}, name=name)
    user = await new_user(store, settings)
    key = await seen_key(store, user)
    now = time.time()
    for name, offset, seconds in subscriptions:
        await add_subscription(store, user.id, name, seconds, now + offset)
    await delete_plan(store, "gone")
    plans = await cached_plans(store)
    granted = await authorize_api_key_chat(store, key, MODEL, plans, "t1", now + 1)
    assert granted is not None and granted.status == 1
    assert granted.caller.choice.plan.name == (await current_plan(store, user.id, now + 1)).name


async def test_scripts_lost_by_the_store_are_reloaded(services: Services, store: Store, settings: Settings) -> None:
    user = await new_user(store, settings)
    key = await seen_key(store, user)
    await store.redis.script_flush()
    done = await run(services, key)
    assert done is not None and done.error is None
    assert await window_count(store, user.id) == 1


async def test_the_script_reserves_what_the_plan_it_picks_allows(
    services: Services, store: Store, settings: Settings
) -> None:
    # The plan is chosen inside the script, so each plan's row carries this call's estimate under that plan.
    await save_plan(store, Plan("free", "Free", {}, {MODEL: Limit(10, "1h")}, daily_tokens=40, max_tokens=20))
    await save_plan(store, Plan("pro", "Pro", {"monthly": 100}, {MODEL: Limit(10, "1h")}, daily_tokens=5000))
    user = await new_user(store, settings)
    key = await seen_key(store, user)
    request = ChatRequest.from_openai({"model": MODEL, "messages": HELLO, "stream": True})
    done = await relay_api_key_chat(services, key, request)
    assert done is not None and done.stream is not None  # free: the prompt + its max_tokens (20) fit in 40
    assert await tokens_used_today(store, user.id, time.time()) == count_message_tokens(HELLO, MODEL) + 20
    await done.stream.aclose()
    await add_subscription(store, user.id, "pro", 3600, time.time())
    done = await relay_api_key_chat(
        services, key, ChatRequest.from_openai({"model": MODEL, "messages": HELLO, "stream": True})
    )
    assert done is not None and done.stream is not None  # pro: no max_tokens cap, so the default output is reserved
    prompt = count_message_tokens(HELLO, MODEL)
    # The first call's usage (stopped before reading: its prompt), plus this one's reservation.
    assert await tokens_used_today(store, user.id, time.time()) == prompt + prompt + 4096
    await done.stream.aclose()  # stopped before reading any of it: the prompt is what it used
    assert await tokens_used_today(store, user.id, time.time()) == 2 * prompt
