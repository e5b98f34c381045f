"""The output guard: streamed answers checked per delta (keywords) and per chunk (remote providers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from core.errors import ContentBlocked
from core.moderation import OutputGuard, build_moderation, recent_blocks, set_words
from core.settings import Settings
from core.store.connection import Store
from tests.fakes.tencent_tms import FakeTencentTMS


@pytest.fixture
async def tms() -> AsyncIterator[FakeTencentTMS]:
    fake = FakeTencentTMS(block_words={"detonator": "Illegal"})
    async with fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def configure(settings: Settings, tms: FakeTencentTMS, *names: str, **extra: Any) -> Settings:
    update: dict[str, Any] = {
        "TEXT_SECURITY": list(names),
        "TENCENT_SECRETID": tms.secret_id,
        "TENCENT_SECRETKEY": SecretStr(tms.secret_key),
        "TENCENT_TMS_ENDPOINT": tms.url,
        "MODERATION_OUTPUT_CHUNK_CHARS": 50,
        "MODERATION_TIMEOUT_SECONDS": 5.0,  # no test here times a provider out: only a busy machine could
        **extra,
    }
    return settings.model_copy(update=update)


async def stream(guard: OutputGuard, deltas: list[str]) -> list[str]:
    """Feed deltas as a relay would (check, then deliver); return what reached the user."""
    delivered: list[str] = []
    for delta in deltas:
        await guard.feed(delta)
        delivered.append(delta)
    await guard.finish()
    return delivered


async def test_keyword_split_across_deltas_stops_the_stream(
    settings: Settings, store: Store, tms: FakeTencentTMS, http: httpx.AsyncClient
) -> None:
    await set_words(store, ["Forbidden Fruit"])
    guard = build_moderation(configure(settings, tms, "keywords"), store, http).output_guard(user_id=8)
    delivered: list[str] = []
    deltas = ["Once upon a time there was a FORBID", "DEN fr", "uit in the garden", " and more."]
    with pytest.raises(ContentBlocked) as caught:
        for delta in deltas:
            await guard.feed(delta)
            delivered.append(delta)
    assert delivered == deltas[:2]  # stopped on the delta that completed the word, before delivering it
    assert caught.value.data == {"provider": "keywords", "label": "keyword", "direction": "output"}
    with pytest.raises(ContentBlocked):
        await guard.feed(" more")  # a stopped stream stays stopped
    with pytest.raises(ContentBlocked):
        await guard.finish()
    (record,) = await recent_blocks(store, 5)
    assert (record.direction, record.user_id, record.words) == ("output", "8", ("forbidden fruit",))
    assert "FORBIDDEN fruit" in record.excerpt


async def test_remote_provider_sees_full_chunks_with_overlap(
    settings: Settings, store: Store, tms: FakeTencentTMS, http: httpx.AsyncClient
) -> None:
    guard = build_moderation(configure(settings, tms, "tencent"), store, http).output_guard(user_id=8)
    text = "The quick brown fox jumps over the lazy dog. " * 5  # 225 characters, nothing to block
    await stream(guard, [text[i : i + 7] for i in range(0, len(text), 7)])
    seen = [request.text for request in tms.requests]
    assert len(seen) == 5  # four full chunks of 50, then the 25-character remainder at finish()
    assert seen[0] == text[:50] and seen[1] == text[:100] and seen[2] == text[50:150]
    assert seen[-1] == text[150:]
    assert all(len(chunk) <= 100 for chunk in seen)


async def test_remote_word_split_across_chunks_is_caught_by_the_overlap(
    settings: Settings, store: Store, tms: FakeTencentTMS, http: httpx.AsyncClient
) -> None:
    guard = build_moderation(configure(settings, tms, "tencent"), store, http).output_guard(user_id=8)
    text = "x" * 46 + "detonator" + "y" * 100  # the word straddles the first chunk boundary at 50
    with pytest.raises(ContentBlocked) as caught:
        await stream(guard, [text[i : i + 5] for i in range(0, len(text), 5)])
    assert caught.value.data["provider"] == "tencent"
    assert len(tms.requests) == 2 and "detonator" in tms.requests[1].text


async def test_remainder_is_checked_at_finish(
    settings: Settings, store: Store, tms: FakeTencentTMS, http: httpx.AsyncClient
) -> None:
    guard = build_moderation(configure(settings, tms, "tencent"), store, http).output_guard(user_id=8)
    await guard.feed("short answer with a detonator")
    assert tms.requests == []  # under one chunk: no remote call per delta
    with pytest.raises(ContentBlocked):
        await guard.finish()


async def test_one_big_delta_is_one_call_per_provider(
    settings: Settings, store: Store, tms: FakeTencentTMS, http: httpx.AsyncClient
) -> None:
    guard = build_moderation(configure(settings, tms, "tencent"), store, http).output_guard(user_id=8)
    await stream(guard, ["calm words " * 301])  # 3,311 characters, as a non-streamed answer would come
    assert [len(request.text) for request in tms.requests] == [3_300, 50 + 11]  # full chunks, then the rest


async def test_output_follows_fail_closed(
    settings: Settings, store: Store, tms: FakeTencentTMS, http: httpx.AsyncClient
) -> None:
    tms.fail = "500"
    closed = build_moderation(configure(settings, tms, "tencent", MODERATION_FAIL_OPEN=False), store, http)
    with pytest.raises(ContentBlocked) as caught:
        await stream(closed.output_guard(user_id=8), ["a" * 60])
    assert caught.value.data["label"] == "provider_unavailable"
    opened = build_moderation(configure(settings, tms, "tencent"), store, http)
    assert await stream(opened.output_guard(user_id=8), ["a" * 60]) == ["a" * 60]


async def test_guard_without_providers_does_nothing(settings: Settings, store: Store, http: httpx.AsyncClient) -> None:
    guard = build_moderation(settings, store, http).output_guard(user_id=1)
    assert await stream(guard, ["anything", " at all"]) == ["anything", " at all"]
    assert await recent_blocks(store, 5) == []
