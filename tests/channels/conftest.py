"""Fixtures for the bot tests: two models served by a loopback fake upstream, a free plan, services over the store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.services import Services, build_services
from core.settings import Settings
from core.store.connection import Store
from tests.chat_support import MODEL, add_model, set_plan
from tests.fakes.openai_upstream import FakeUpstream

OTHER_MODEL = "other-model"
SITE = "https://chat.example"  # DOMAIN: the bots' sign-in links need the site's public address


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as fake:
        yield fake


@pytest.fixture
async def catalogue(store: Store, upstream: FakeUpstream) -> None:
    """Two models on the fake upstream; the free plan allows 3 an hour of the first and 2 every 3 hours of the other."""
    await add_model(store, [upstream])
    await add_model(store, [upstream], model_id=OTHER_MODEL)
    await set_plan(store, {MODEL: (3, "1h"), OTHER_MODEL: (2, "3h")})


@pytest.fixture
async def services(settings: Settings, store: Store, catalogue: None) -> AsyncIterator[Services]:
    built = await build_services(settings.model_copy(update={"DOMAIN": SITE}), store)
    try:
        yield built
    finally:
        await built.close()
