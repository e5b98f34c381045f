"""WeChat fixtures: the web app with the official-account webhook, served over loopback HTTP (one or several
"processes": each its own services and store connection), and the fake WeChat platform delivering to them.

    async def test_x(wechat_world):
        world = await wechat_world(processes=2, WECHAT_MODE="service")   # WeChat's own 5 s timeout
        world = await wechat_world(timeout=FAST_TIMEOUT)                 # the same rules, five times faster
        exchange = await world.fake.send_text("o-alice", "hello")
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from channels import enabled_channels
from chatgate.runtime import build_web_app
from core.chat.token_count import count_tokens
from core.services import Services, build_services
from core.settings import Settings
from core.store.connection import Store, connect
from tests.chat_support import MODEL, add_model, serve_app, set_plan
from tests.fakes.openai_upstream import FakeUpstream
from tests.fakes.wechat import FakeWeChat

FAST_TIMEOUT = 1.0  # WeChat's 5 s scaled down (the same timing rules, five times faster), for slow-answer tests


@dataclass
class World:
    fake: FakeWeChat
    upstream: FakeUpstream
    services: list[Services] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return self.services[0].settings

    @property
    def store(self) -> Store:
        return self.services[0].store


WorldFactory = Callable[..., Awaitable[World]]


@pytest.fixture
async def wechat_world(
    settings: Settings, store: Store, store_url: str, upstream: FakeUpstream
) -> AsyncIterator[WorldFactory]:
    """Return a factory: start the fake WeChat (kwargs of FakeWeChat) and `processes` app processes (settings
    overrides in upper case)."""
    await add_model(store, [upstream])
    await set_plan(store, {MODEL: (20, "1h")})
    count_tokens("warm up", MODEL)  # the tokenizer loads once per process: not inside a timed WeChat try
    async with contextlib.AsyncExitStack() as stack:

        async def start(processes: int = 1, **options: Any) -> World:
            overrides = {name: value for name, value in options.items() if name.isupper()}
            fake_options = {name: value for name, value in options.items() if not name.isupper()}
            fake = await stack.enter_async_context(FakeWeChat(**fake_options))
            configured = settings.model_copy(update={**fake.settings_update(), **overrides})
            world = World(fake, upstream)
            for _ in range(processes):
                services = await stack.enter_async_context(_process_services(configured, store_url))
                app = build_web_app(services, enabled_channels(services))
                url = await stack.enter_async_context(serve_app(app))
                fake.targets.append(url + configured.WECHAT_PATH)
                world.services.append(services)
            return world

        yield start


@contextlib.asynccontextmanager
async def _process_services(settings: Settings, store_url: str) -> AsyncIterator[Services]:
    """The services of one app process: its own store connection, as a separate process would have."""
    services = await build_services(settings, connect(store_url))
    try:
        yield services
    finally:
        await services.close()
