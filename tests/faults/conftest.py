"""Fixtures of the fault tests: a store of the test's own (so it can be killed), the app over it, fake upstreams.

async def test_x(own_store, make_own_app):
    app = await make_own_app(**settings_overrides)    # the web app over `own_store`, started
    await kill_store(own_store)                       # SIGKILL: no shutdown, no AOF rewrite
    await asyncio.to_thread(own_store.start)          # the same data directory and socket
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from quart import Quart

from core.services import build_services
from core.settings import Settings
from core.store.connection import Store, connect
from core.store.embedded import EmbeddedStore
from tests.webui.conftest import FAST_HASHING
from webui import create_app

MakeOwnApp = Callable[..., Awaitable[Quart]]


async def kill_store(server: EmbeddedStore) -> None:
    """SIGKILL the store server (what an OOM kill or a crash does) and wait until it is gone."""
    process = server.process
    assert process is not None and process.poll() is None
    os.kill(process.pid, signal.SIGKILL)
    await asyncio.to_thread(process.wait, 10)
    server.process = None


@pytest.fixture
async def own_client(own_store: EmbeddedStore) -> AsyncIterator[Store]:
    """A client of the test's own store (for set-up and for reading what was kept)."""
    handle = connect(own_store.url)
    yield handle
    await handle.close()


@pytest.fixture
async def make_own_app(own_store: EmbeddedStore, settings: Settings) -> AsyncIterator[MakeOwnApp]:
    """Yield `await make_own_app(**settings_overrides)`: the web app over the test's own store, started."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(**overrides: Any) -> Quart:
            update = {**FAST_HASHING, "REDIS_URL": own_store.url, "REDIS_CLUSTER": False, **overrides}
            services = await build_services(settings.model_copy(update=update), connect(own_store.url))
            stack.push_async_callback(services.close)
            app = create_app(services)
            await stack.enter_async_context(app.test_app())  # type: ignore[arg-type]  # TestApp is one
            return app

        yield make
