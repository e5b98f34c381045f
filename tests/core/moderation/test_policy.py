"""The moderation policy set in the dashboard: providers in order (only those with credentials), fail open or
closed, the keyword list; followed by every process; audited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from core.errors import ContentBlocked, InvalidInput
from core.moderation import build_moderation
from core.moderation.config import moderation_config, update_moderation
from core.moderation.verdicts import ProviderError, Verdict
from core.settings import Settings
from core.site.audit import Actor, list_audit
from core.store.config_cache import CONFIG_CACHE_SECONDS
from core.store.connection import Store, connect

ADMIN = Actor(1, "root@example.com")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def test_keywords_switched_on_from_the_dashboard(
    store: Store, settings: Settings, http: httpx.AsyncClient, store_url: str
) -> None:
    moderation = build_moderation(settings, store, http)  # TEXT_SECURITY is empty: nothing checked
    await moderation.check_texts(["buy a casino chip"], user_id=1)
    other_store = connect(store_url)
    other = build_moderation(settings, other_store, http)  # another process
    try:
        await update_moderation(moderation, ADMIN, providers=["keywords"], words=["casino"], now=time.time())
        with pytest.raises(ContentBlocked):
            await moderation.check_texts(["buy a casino chip"], user_id=1, channel="web")
        await asyncio.sleep(CONFIG_CACHE_SECONDS + 0.05)
        with pytest.raises(ContentBlocked):
            await other.check_texts(["casino night"], user_id=2)
    finally:
        await other_store.close()
    [entry] = (await list_audit(store, action="moderation.update")).entries
    assert entry.before["providers"] == [] and entry.after["providers"] == ["keywords"]
    assert entry.after["words"] == {"count": 1, "added": ["casino"], "added_count": 1}


async def test_providers_without_credentials_and_unknown_ones_are_refused(
    store: Store, settings: Settings, http: httpx.AsyncClient
) -> None:
    moderation = build_moderation(settings, store, http)
    for providers in (["tencent"], ["keywords", "keywords"], ["nsa"]):
        with pytest.raises(InvalidInput):
            await update_moderation(moderation, ADMIN, providers=providers, words=["x"], now=time.time())
    assert (await moderation_config(store, settings)).providers == ()
    assert await store.redis.scard(store.keys.moderation_words()) == 0  # the refused change wrote no words either
    assert (await list_audit(store)).entries == []


async def test_fail_open_or_closed(store: Store, settings: Settings, http: httpx.AsyncClient) -> None:
    class Broken:
        name = "openai"

        async def check(self, text: str, user_id: str) -> Verdict:
            raise ProviderError("openai", "down")

        def missing_settings(self) -> list[str]:
            return []

    moderation = build_moderation(settings, store, http)
    moderation.available["openai"] = Broken()  # type: ignore[assignment]
    await update_moderation(moderation, ADMIN, providers=["openai"], fail_open=True, now=time.time())
    await moderation.check_texts(["hello"], user_id=1)  # passes with a warning
    await update_moderation(moderation, ADMIN, providers=["openai"], fail_open=False, now=time.time())
    with pytest.raises(ContentBlocked) as blocked:
        await moderation.check_texts(["hello"], user_id=1)
    assert blocked.value.data["label"] == "provider_unavailable"
