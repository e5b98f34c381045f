"""This process's copy of runtime config: changes through this client at once, other processes within the TTL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

import core.store.config_cache
from core.billing.plans import Limit, Plan, cached_plans, delete_plan, save_plan
from core.billing.subscriptions import add_subscription, current_plan
from core.relay.catalogue import Model, Upstream, cached_model, delete_model, save_model
from core.store.config_cache import cached_config, forget_config
from core.store.connection import Store
from tests.conftest import connect_test_store

T0 = 1_700_000_000.0


@pytest.fixture
async def other_process(store: Store, store_url: str) -> AsyncIterator[Store]:
    """A second client on the same database: writes through it are another process's writes."""
    other = connect_test_store(store_url)
    await other.redis.ping()  # connected (a cluster client maps the slots first): only the test's own steps timed
    yield other
    await other.close()


def model(model_id: str = "gpt-4o-mini", enabled: bool = True) -> Model:
    return Model(
        id=model_id, name=model_id, upstreams=[Upstream(id="u", base_url="http://127.0.0.1:9")], enabled=enabled
    )


async def test_a_write_through_this_client_is_seen_at_once(store: Store) -> None:
    assert await cached_model(store, "gpt-4o-mini") is None
    await save_model(store, model())
    assert (cached := await cached_model(store, "gpt-4o-mini")) is not None and cached.enabled
    await save_model(store, model(enabled=False))
    assert (cached := await cached_model(store, "gpt-4o-mini")) is not None and not cached.enabled
    await delete_model(store, "gpt-4o-mini")
    assert await cached_model(store, "gpt-4o-mini") is None


async def test_another_processs_write_is_seen_within_the_ttl(
    store: Store, other_process: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core.store.config_cache, "CONFIG_CACHE_SECONDS", 0.2)
    await save_plan(store, Plan("free", "Free", {}, {"m": Limit(5, "1h")}))
    assert (await cached_plans(store))["free"].limits["m"].limit == 5
    await save_plan(other_process, Plan("free", "Free", {}, {"m": Limit(7, "1h")}))
    assert (await cached_plans(store))["free"].limits["m"].limit == 5  # within the TTL: this process's copy
    await asyncio.sleep(0.25)
    assert (await cached_plans(store))["free"].limits["m"].limit == 7  # the first call after the TTL sees it


async def test_current_plan_follows_plan_edits_and_subscriptions(store: Store) -> None:
    await save_plan(store, Plan("free", "Free", {}, {"m": Limit(5, "1h")}))
    await save_plan(store, Plan("pro", "Pro", {"monthly": 2900}, {"m": Limit(50, "1h")}))
    assert (await current_plan(store, 1, T0)).name == "free"
    await add_subscription(store, 1, "pro", 86_400, T0)
    assert (await current_plan(store, 1, T0 + 1)).name == "pro"  # subscriptions are per-user: never cached
    await delete_plan(store, "pro")
    assert (await current_plan(store, 1, T0 + 2)).name == "free"  # a deleted plan falls back at once
    assert (await current_plan(store, 1, T0 + 86_401)).name == "free"


async def test_one_read_for_many_cold_callers(store: Store) -> None:
    reads = 0

    async def load(_: Store) -> int:
        nonlocal reads
        reads += 1
        await asyncio.sleep(0.01)
        return reads

    assert await asyncio.gather(*(cached_config(store, "x", load) for _ in range(50))) == [1] * 50
    assert reads == 1
    forget_config(store, "x")
    assert await cached_config(store, "x", load) == 2
    stale = await asyncio.gather(*(cached_config(store, "x", load, ttl=0.0) for _ in range(50)))
    assert stale == [3] * 50 and reads == 3  # a stale copy: one read too, and everyone gets its result


async def test_a_read_started_before_a_write_is_not_kept(store: Store) -> None:
    release = asyncio.Event()
    values = iter(["before", "after"])

    async def load(_: Store) -> str:
        value = next(values)
        if value == "before":
            await release.wait()
        return value

    early = asyncio.create_task(cached_config(store, "x", load))
    await asyncio.sleep(0)
    forget_config(store, "x")  # a write happened while that read was in flight
    assert await cached_config(store, "x", load) == "after"
    release.set()
    assert await early == "before"  # its caller asked before the write
    assert await cached_config(store, "x", load) == "after"


async def test_a_failed_refresh_keeps_the_copy_and_a_cold_failure_raises(store: Store) -> None:
    calls = 0

    async def load(_: Store) -> str:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise ConnectionError("store down")
        return "v1"

    assert await cached_config(store, "x", load, ttl=0) == "v1"
    assert await cached_config(store, "x", load, ttl=0) == "v1"  # stale copy served while the refresh fails
    assert calls == 2  # it was tried
    await asyncio.sleep(0)
    forget_config(store, "x")
    with pytest.raises(ConnectionError):
        await cached_config(store, "x", load)


async def test_each_store_client_has_its_own_copy(store: Store, other_process: Store) -> None:
    await save_model(store, model("a"))
    assert await cached_model(other_process, "a") is not None
    await delete_model(store, "a")
    assert await cached_model(store, "a") is None
    assert await cached_model(other_process, "a") is not None  # another process: stale for up to the TTL
