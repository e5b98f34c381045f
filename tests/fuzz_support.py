"""Fuzzing a live webhook with Hypothesis: examples are drawn in a worker thread, each request and check runs on
the test's event loop (where the app, its store client and the fakes live), and the store can be compared before
and after a request, value by value."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from core.store.connection import Store
from tests.conftest import CLUSTER, all_keys

T = TypeVar("T")
EXAMPLE_SECONDS = 30.0  # one request and its checks; a hang fails the test instead of blocking it


async def fuzz(strategy: st.SearchStrategy[T], check: Callable[[T], Awaitable[None]], *, examples: int) -> None:
    """Run `check` on `examples` values drawn from `strategy` (derandomized: every run tries the same values)."""
    loop = asyncio.get_running_loop()

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def run(value: T) -> None:
        asyncio.run_coroutine_threadsafe(check(value), loop).result(EXAMPLE_SECONDS)

    await asyncio.to_thread(run)


class StoreSnapshot:
    """Every key of the test's store with its value (DUMP), to tell that a request wrote nothing."""

    def __init__(self, store: Store, url: str) -> None:
        self.store = store
        self.raw: Any = RedisCluster.from_url(url) if CLUSTER else Redis.from_url(url)

    async def take(self) -> dict[str, bytes]:
        return {key: await self.raw.dump(key) for key in await all_keys(self.store, "*")}

    async def close(self) -> None:
        await self.raw.aclose()


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return the log lines of an error or of an exception with its traceback (an unhandled failure)."""
    return [
        f"{record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno >= logging.ERROR or record.exc_info
    ]
