"""Shared fixtures: one real store server per test session (the embedded-mode binary), a fresh database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.settings import Settings
from core.store.connection import Store, connect
from core.store.embedded import EmbeddedStore

TEST_JWT_SECRET = "test-secret-0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="session")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedStore(tmp_path_factory.mktemp("store"))
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
        JWT_SECRET=TEST_JWT_SECRET,  # type: ignore[arg-type]
        OPENAI_ENDPOINT="http://127.0.0.1:9",  # closed loopback port: no test may reach a real upstream
        PASSWORD_HASH_TIME_COST=1,  # production cost is covered by its own test
        PASSWORD_HASH_MEMORY_KIB=8_192,
    )


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """A client on this test's event loop over an emptied database."""
    handle = connect(store_url)
    await handle.redis.flushall()
    yield handle
    await handle.close()
