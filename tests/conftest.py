"""Shared fixtures: one real store server per test session (the embedded-mode binary), a fresh database per test.

With CHATGATE_TEST_CLUSTER=1 (`scripts/test --cluster`) the store is a 3-node Redis Cluster started from the same
binary instead, so every store-facing test also proves that its multi-key operations stay inside one hash slot.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis._parsers.commands import AsyncCommandsParser
from redis.asyncio.cluster import RedisCluster

from core.settings import Settings
from core.store.connection import Store, connect
from core.store.embedded import EmbeddedStore
from core.store.embedded_cluster import EmbeddedCluster

TEST_JWT_SECRET = "test-secret-0123456789abcdef0123456789abcdef"
CLUSTER = os.environ.get("CHATGATE_TEST_CLUSTER") == "1"


def connect_test_store(url: str) -> Store:
    """Connect to the test session's store (a cluster client under `scripts/test --cluster`)."""
    return connect(url, cluster=CLUSTER)


@pytest.fixture(scope="session", autouse=True)
def _one_command_table() -> Iterator[None]:
    """Under --cluster, read the store's COMMAND table once per session instead of once per client.

    A cluster client asks a node for its whole COMMAND table (~0.15 s) before its first command so that it can find
    the keys of any command; a process does that once, but every test here opens fresh clients on its own loop.
    The table is the same for every node of one binary, so tests reuse the first answer.
    """
    if not CLUSTER:
        yield
        return
    table: dict[str, Any] = {}
    original = AsyncCommandsParser.initialize

    async def initialize(self: AsyncCommandsParser, node: Any = None) -> None:
        if not table:
            await original(self, node)
            table.update(self.commands)
            return
        if node:
            self.node = node
        self.commands = dict(table)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AsyncCommandsParser, "initialize", initialize)
        yield


@pytest.fixture(scope="session")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = (
        EmbeddedCluster(tmp_path_factory.mktemp("cluster"))
        if CLUSTER
        else EmbeddedStore(tmp_path_factory.mktemp("store"), fsync="everysec")  # test data need not survive a crash
    )
    url = server.start()
    yield url
    server.stop()


@pytest.fixture
def settings(tmp_path: Path, store_url: str) -> Settings:
    """Settings for one test: no .env file, the session store, dev mode, no providers unless a test adds them."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        CHATGATE_ENV="test",
        DATA_DIR=tmp_path / "data",
        REDIS_URL=store_url,
        REDIS_CLUSTER=CLUSTER,
        JWT_SECRET=TEST_JWT_SECRET,  # type: ignore[arg-type]
        OPENAI_ENDPOINT="http://127.0.0.1:9",  # closed loopback port: no test may reach a real upstream
        PASSWORD_HASH_TIME_COST=1,  # production cost is covered by its own test
        PASSWORD_HASH_MEMORY_KIB=8_192,
    )


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """A client on this test's event loop over an emptied database."""
    handle = connect_test_store(store_url)
    await handle.redis.flushall()  # on a cluster: every primary
    yield handle
    await handle.close()


async def reset_command_stats(store: Store) -> None:
    """Zero the store's command counters (every primary of a cluster)."""
    if CLUSTER:
        await store.redis.config_resetstat(target_nodes=RedisCluster.PRIMARIES)  # type: ignore[call-arg]
    else:
        await store.redis.config_resetstat()


async def command_calls(store: Store, command: str) -> int:
    """Return how many times the store ran `command` since the last reset (summed over a cluster's primaries)."""
    if CLUSTER:
        per_node = await store.redis.info("commandstats", target_nodes=RedisCluster.PRIMARIES)  # type: ignore[call-arg]
        return sum(int(stats.get(f"cmdstat_{command}", {}).get("calls", 0)) for stats in per_node.values())
    stats = await store.redis.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


async def all_keys(store: Store, pattern: str) -> list[str]:
    """Return the keys matching `pattern` (on every primary of a cluster). Tests only: the product never lists keys."""
    if CLUSTER:
        return list(await store.redis.keys(pattern, target_nodes=RedisCluster.PRIMARIES))  # type: ignore[call-arg]
    return list(await store.redis.keys(pattern))


@pytest.fixture
async def own_store(tmp_path: Path) -> AsyncIterator[EmbeddedStore]:
    """A store server of this test only, as the product starts it (append-only, fsync before acknowledging)."""
    server = EmbeddedStore(tmp_path / "own")
    server.start()
    yield server
    server.stop()
