"""Fixtures for the Telegram bot: the fake Bot API server, and bot "processes" (each with its own store client,
services and TelegramChannel) pointed at it, over the real store and the fake upstream.

    async def test_x(fake: FakeTelegram, make_bot: MakeBot) -> None:
        bot = await make_bot(streaming="edit")           # any Settings overrides too
        await bot.handle(fake.private_message(42, "hi"))  # dedupe, dispatch, wait until answered
        assert fake.texts(42) == [...]
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from channels.telegram import TelegramChannel
from channels.telegram.stream import Cadence
from core.services import Services, build_services
from core.settings import Settings
from tests.channels.conftest import SITE
from tests.conftest import connect_test_store
from tests.fakes.telegram_api import FakeTelegram

SECRET = "webhook-secret_0123456789"
FAST = Cadence(private=0.2, group=0.4, typing=0.3)  # the real cadence is 1 s / 3 s: same logic, shorter test


@dataclass
class BotProcess:
    services: Services
    channel: TelegramChannel

    async def handle(self, update: dict[str, Any]) -> bool:
        """Take an update as the webhook or poller would, and wait until it is handled."""
        taken = await self.channel.telegram.take(update)
        await self.channel.telegram.drain()
        return taken


MakeBot = Callable[..., Awaitable[BotProcess]]


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def make_bot(
    settings: Settings, store_url: str, store: Any, catalogue: None, fake: FakeTelegram
) -> AsyncIterator[MakeBot]:
    async with contextlib.AsyncExitStack() as stack:

        async def make(cadence: Cadence = FAST, lease_ttl: float = 3.0, **overrides: Any) -> BotProcess:
            update = {**fake.settings_update(), "TELEGRAM_WEBHOOK_SECRET": SecretStr(SECRET), "DOMAIN": SITE}
            for name, value in overrides.items():
                update[name if name.isupper() else f"TELEGRAM_{name.upper()}"] = value
            services = await build_services(settings.model_copy(update=update), connect_test_store(store_url))
            stack.push_async_callback(services.close)
            channel = TelegramChannel(services, cadence, poll_timeout=1, lease_ttl=lease_ttl)
            stack.push_async_callback(channel.telegram.close)
            return BotProcess(services, channel)

        yield make
