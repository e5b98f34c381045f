"""The /v1 hot path's store reads and writes: one round trip for the caller, exact usage, scripts the store lost."""

from __future__ import annotations

import hashlib

from core.accounts.api_keys import create_api_key, resolve_api_key_caller, revoke_api_key
from core.billing.plans import Limit, Plan, save_plan
from core.billing.quotas import DAILY_TOKENS_TTL_SECONDS, tokens_used_today
from core.billing.subscriptions import add_subscription
from core.billing.usage import RETENTION_SECONDS, record_usage, site_usage, user_usage
from core.store.connection import Store

T0 = 1_700_000_000.0


async def test_the_caller_comes_with_the_user_record_and_live_subscriptions(store: Store) -> None:
    name = '张三 🚀 "q" \\ /\n'  # the record travels as JSON built by the store's Lua: any text survives
    await store.redis.hset(store.keys.user(7), mapping={"id": "7", "name": name, "blocked": "0"})
    meta, key = await create_api_key(store, 7, "ci", T0)
    for plan in ("free", "pro"):
        await save_plan(store, Plan(plan, plan.title(), {}, {"m": Limit(5, "1h")}))
    await add_subscription(store, 7, "free", 100, T0 - 200)  # ended before T0: not read
    pro = (await add_subscription(store, 7, "pro", 86_400, T0)).subscription
    caller = await resolve_api_key_caller(store, key, T0 + 1)
    assert caller is not None
    assert (caller.owner.user_id, caller.owner.key_id) == (7, meta.id)
    assert caller.user_fields == {"id": "7", "name": name, "blocked": "0"}
    assert caller.subscriptions == [pro]


async def test_a_caller_without_subscriptions_or_record(store: Store) -> None:
    _, key = await create_api_key(store, 8, "ci", T0)
    caller = await resolve_api_key_caller(store, key, T0)
    assert caller is not None and caller.subscriptions == [] and caller.user_fields == {}


async def test_a_key_seen_live_is_refused_right_after_revoking_it(store: Store) -> None:
    meta, key = await create_api_key(store, 3, "old", T0)
    for moment in (T0 + 1, T0 + 2):  # the second lookup uses this process's remembered owner
        assert await resolve_api_key_caller(store, key, moment) is not None
    await revoke_api_key(store, 3, meta.id)
    assert await resolve_api_key_caller(store, key, T0 + 3) is None
    assert await resolve_api_key_caller(store, key, T0 + 4) is None


async def test_a_remembered_owner_never_resolves_a_key_whose_meta_is_anothers(store: Store) -> None:
    meta, key = await create_api_key(store, 3, "k", T0)
    assert await resolve_api_key_caller(store, key, T0) is not None
    raw = str(await store.redis.hget(store.keys.api_keys(3), meta.id))
    other_digest = hashlib.sha256(b"another key").hexdigest()
    await store.redis.hset(store.keys.api_keys(3), meta.id, raw.replace(meta.digest, other_digest))
    assert await resolve_api_key_caller(store, key, T0 + 1) is None


async def test_usage_is_counted_once_per_call_with_expiries(store: Store) -> None:
    for prompt, completion in ((10, 64), (5, 1)):
        await record_usage(store, 4, "m", prompt, completion, T0, daily_tokens=True)
    await record_usage(store, 4, "m", 1, 1, T0)  # no daily cap on this plan: the token counter is untouched
    rows = await user_usage(store, 4, 1, T0)
    assert [(r.model, r.requests, r.prompt_tokens, r.completion_tokens) for r in rows] == [("m", 3, 16, 66)]
    assert [(r.requests, r.prompt_tokens) for r in await site_usage(store, 1, T0)] == [(3, 16)]
    assert await tokens_used_today(store, 4, T0) == 80
    day = rows[0].date.replace("-", "")
    assert 0 < await store.redis.ttl(store.keys.daily_tokens(4, day)) <= DAILY_TOKENS_TTL_SECONDS
    assert RETENTION_SECONDS - 5 < await store.redis.ttl(store.keys.user_usage(4, day)) <= RETENTION_SECONDS
    assert RETENTION_SECONDS - 5 < await store.redis.ttl(store.keys.daily_usage(day)) <= RETENTION_SECONDS


async def test_scripts_the_store_lost_are_reloaded_and_run_once(store: Store) -> None:
    await record_usage(store, 5, "m", 1, 2, T0)
    _, key = await create_api_key(store, 5, "k", T0)
    await store.redis.script_flush()  # a restarted or failed-over store has no scripts
    await record_usage(store, 5, "m", 1, 2, T0, daily_tokens=True)
    assert [(r.requests, r.prompt_tokens, r.completion_tokens) for r in await user_usage(store, 5, 1, T0)] == [
        (2, 2, 4)
    ]
    assert [r.requests for r in await site_usage(store, 1, T0)] == [2]
    assert await tokens_used_today(store, 5, T0) == 3
    await store.redis.script_flush()
    assert await resolve_api_key_caller(store, key, T0) is not None
