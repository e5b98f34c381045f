"""Leases: one holder across processes, renewed while held, taken over when the holder dies, released by it only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from core.store.connection import Store
from core.store.lease import holding, release_lease, renew_lease, run_exclusive, take_lease
from tests.conftest import connect_test_store


@pytest.fixture
async def other_process(store: Store, store_url: str) -> AsyncIterator[Store]:
    other = connect_test_store(store_url)
    await other.redis.ping()  # connected (a cluster client maps the slots first): only the test's own steps timed
    yield other
    await other.close()


async def test_one_holder_and_only_it_renews_or_releases(store: Store, other_process: Store) -> None:
    token = await take_lease(store, "job", 5)
    assert token is not None
    assert await take_lease(other_process, "job", 5) is None
    assert not await renew_lease(other_process, "job", "not-the-token", 5)
    assert not await release_lease(other_process, "job", "not-the-token")
    assert await renew_lease(store, "job", token, 5)
    assert await release_lease(store, "job", token)
    assert await take_lease(other_process, "job", 5) is not None


async def test_holding_renews_past_the_ttl_and_gives_the_lease_back(store: Store, other_process: Store) -> None:
    async with holding(store, "refresh", 0.3) as held:
        assert held
        await asyncio.sleep(0.5)  # longer than the TTL: renewed meanwhile
        async with holding(other_process, "refresh", 0.3) as other_held:
            assert not other_held
    async with holding(other_process, "refresh", 0.3) as other_held:
        assert other_held


async def test_run_exclusive_runs_one_job_at_a_time_and_fails_over(store: Store, other_process: Store) -> None:
    running: list[str] = []

    def job(name: str) -> Callable[[], Awaitable[None]]:
        async def body() -> None:
            running.append(name)
            await asyncio.Event().wait()  # runs until cancelled

        return body

    first = asyncio.create_task(run_exclusive(store, "poller", job("a"), ttl=0.3, retry=0.05))
    await asyncio.sleep(0.1)
    second = asyncio.create_task(run_exclusive(other_process, "poller", job("b"), ttl=0.3, retry=0.05))
    await asyncio.sleep(0.5)
    assert running == ["a"]  # the second process waits while the first holds the lease
    first.cancel()  # the holder's process goes away
    await asyncio.gather(first, return_exceptions=True)
    for _ in range(40):
        if running == ["a", "b"]:
            break
        await asyncio.sleep(0.05)
    assert running == ["a", "b"]
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
