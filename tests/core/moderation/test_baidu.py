"""The Baidu censor provider against a loopback Baidu AIP: shared token, refresh on 110, conclusions, chunking."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from core.moderation.baidu import BaiduProvider, token_ttl
from core.moderation.verdicts import ProviderError
from core.settings import Settings
from core.store.connection import Store
from tests.fakes.baidu_censor import FakeBaiduCensor


@pytest.fixture
async def baidu() -> AsyncIterator[FakeBaiduCensor]:
    fake = FakeBaiduCensor(
        block_words={"违禁": "存在违禁词不合规", "evil": "存在恶意内容不合规"}, review_words={"可疑": "疑似广告"}
    )
    async with fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def baidu_settings(settings: Settings, fake: FakeBaiduCensor, **extra: Any) -> Settings:
    update: dict[str, Any] = {
        "TEXT_SECURITY": ["baidu"],
        "BAIDU_APIKEY": fake.api_key,
        "BAIDU_SECRETKEY": SecretStr(fake.secret_key),
        "BAIDU_API_BASE": fake.url,
        "MODERATION_TIMEOUT_SECONDS": 2.0,
        **extra,
    }
    return settings.model_copy(update=update)


async def test_conclusions_map_to_decisions(
    settings: Settings, store: Store, baidu: FakeBaiduCensor, http: httpx.AsyncClient
) -> None:
    provider = BaiduProvider(baidu_settings(settings, baidu), store, http)
    blocked = await provider.check("this is EVIL stuff", "9")
    assert (blocked.decision, blocked.label, blocked.words) == ("block", "存在恶意内容不合规", ("evil",))
    review = await provider.check("有点可疑", "9")
    assert (review.decision, review.label) == ("review", "疑似广告")
    assert (await provider.check("今天天气不错", "9")).decision == "pass"
    baidu.fail_conclusion = True
    with pytest.raises(ProviderError, match="conclusionType 4"):
        await provider.check("今天天气不错", "9")
    assert baidu.censor_requests[0].user_id == "9"


async def test_token_is_cached_in_the_store_and_shared(
    settings: Settings, store: Store, baidu: FakeBaiduCensor, http: httpx.AsyncClient
) -> None:
    configured = baidu_settings(settings, baidu)
    await BaiduProvider(configured, store, http).check("hello", "1")
    await BaiduProvider(configured, store, http).check("hello again", "1")  # another process, same store
    assert baidu.token_requests == 1
    key = store.keys.baidu_token()
    assert await store.redis.get(key) in baidu.tokens
    ttl = await store.redis.ttl(key)
    assert 2_592_000 - 86_400 - 5 <= ttl <= 2_592_000 - 86_400
    assert {request.token for request in baidu.censor_requests} == {await store.redis.get(key)}


async def test_token_is_refreshed_once_on_110(
    settings: Settings, store: Store, baidu: FakeBaiduCensor, http: httpx.AsyncClient
) -> None:
    provider = BaiduProvider(baidu_settings(settings, baidu), store, http)
    await provider.check("hello", "1")
    old = await store.redis.get(store.keys.baidu_token())
    baidu.revoke_tokens()
    assert (await provider.check("违禁内容", "1")).decision == "block"
    assert baidu.token_requests == 2
    assert [request.error_code for request in baidu.censor_requests] == [0, 110, 0]
    new = await store.redis.get(store.keys.baidu_token())
    assert new != old and new in baidu.tokens


async def test_a_token_rejected_twice_is_an_error_not_a_loop(
    settings: Settings, store: Store, baidu: FakeBaiduCensor, http: httpx.AsyncClient
) -> None:
    baidu.expires_in = 0  # every token is born expired: the censor answers 111 each time
    provider = BaiduProvider(baidu_settings(settings, baidu), store, http)
    with pytest.raises(ProviderError, match="error_code 111"):
        await provider.check("hello", "1")
    assert baidu.token_requests == 2
    assert len(baidu.censor_requests) == 2


async def test_bad_credentials_are_a_provider_error_without_the_secret(
    settings: Settings, store: Store, baidu: FakeBaiduCensor, http: httpx.AsyncClient
) -> None:
    wrong = baidu_settings(settings, baidu, BAIDU_SECRETKEY=SecretStr("wrong-secret-value"))
    with pytest.raises(ProviderError) as caught:
        await BaiduProvider(wrong, store, http).check("hello", "1")
    assert "Client authentication failed" in str(caught.value)
    assert "wrong-secret-value" not in str(caught.value)
    assert await store.redis.get(store.keys.baidu_token()) is None
    assert baidu.censor_requests == []


async def test_text_is_url_encoded_and_chunked_by_utf8_bytes(
    settings: Settings, store: Store, baidu: FakeBaiduCensor, http: httpx.AsyncClient
) -> None:
    provider = BaiduProvider(baidu_settings(settings, baidu), store, http)
    tricky = "a&text=b+c%20d =中文?#"
    await provider.check(tricky, "1")
    assert baidu.censor_requests[-1].text == tricky
    assert baidu.censor_requests[-1].content_type == "application/x-www-form-urlencoded"
    baidu.censor_requests.clear()
    # Distinct 3-byte characters (so each chunk's place is unambiguous); the word straddles the cut at 20,000 bytes.
    filler = "".join(chr(0x4E00 + i) for i in range(18_666))
    text = filler[:6_666] + "违禁" + filler[6_666:]
    assert (await provider.check(text, "1")).decision == "block"
    chunks = sorted((text.find(request.text), request.text) for request in baidu.censor_requests)
    assert len(chunks) == 3 and max(len(chunk.encode()) for _, chunk in chunks) <= 20_000
    assert all(request.error_code == 0 for request in baidu.censor_requests)
    assert chunks[0][0] == 0 and chunks[-1][0] + len(chunks[-1][1]) == len(text)
    for (start, chunk), (next_start, _) in itertools.pairwise(chunks):
        assert start < next_start < start + len(chunk)  # consecutive chunks overlap: nothing is skipped


async def test_server_failures_are_provider_errors(
    settings: Settings, store: Store, baidu: FakeBaiduCensor, http: httpx.AsyncClient
) -> None:
    provider = BaiduProvider(baidu_settings(settings, baidu, MODERATION_TIMEOUT_SECONDS=0.3), store, http)
    baidu.fail = "500"
    with pytest.raises(ProviderError, match="HTTP 500"):
        await provider.check("hello", "1")
    baidu.fail = "timeout"
    with pytest.raises(ProviderError, match="Timeout"):
        await provider.check("hello", "1")


def test_token_ttl_keeps_a_margin() -> None:
    assert token_ttl(2_592_000) == 2_592_000 - 86_400
    assert token_ttl(3_600) == 3_240
    assert 0 < token_ttl(10) < 10


async def test_httpx_request_logs_never_show_the_token_or_secret(
    settings: Settings,
    store: Store,
    baidu: FakeBaiduCensor,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider = BaiduProvider(baidu_settings(settings, baidu), store, http)
    with caplog.at_level(logging.INFO, logger="httpx"):
        await provider.check("hello", "1")
    token = str(await store.redis.get(store.keys.baidu_token()))
    lines = [record.getMessage() for record in caplog.records if record.name == "httpx"]
    assert len(lines) == 2 and all("***" in line for line in lines)
    assert not any(token in line or baidu.secret_key in line for line in lines)


# --- the doctor's check --------------------------------------------------------------------------------------------
async def test_probe_fetches_a_fresh_token_and_leaves_the_shared_one(
    settings: Settings, store: Store, baidu: FakeBaiduCensor, http: httpx.AsyncClient
) -> None:
    provider = BaiduProvider(baidu_settings(settings, baidu), store, http)
    shared = await provider.access_token()
    assert await provider.probe() == []
    assert baidu.token_requests == 2 and baidu.censor_requests == []  # free: no text was censored
    assert await store.redis.get(store.keys.baidu_token()) == shared


async def test_probe_names_wrong_keys_without_echoing_them(
    settings: Settings, store: Store, baidu: FakeBaiduCensor, http: httpx.AsyncClient
) -> None:
    wrong = baidu_settings(settings, baidu, BAIDU_SECRETKEY=SecretStr("wrong-baidu-secret"))
    [problem] = await BaiduProvider(wrong, store, http).probe()
    assert problem == f"baidu: token refused: Client authentication failed (at {baidu.url}/oauth/2.0/token)"
    [unknown] = await BaiduProvider(baidu_settings(settings, baidu, BAIDU_APIKEY="nope"), store, http).probe()
    assert "unknown client id" in unknown and baidu.secret_key not in unknown


async def test_probe_reports_an_unreachable_endpoint(
    settings: Settings, store: Store, baidu: FakeBaiduCensor, http: httpx.AsyncClient
) -> None:
    async with FakeBaiduCensor() as gone:
        closed = gone.url
    [down] = await BaiduProvider(baidu_settings(settings, baidu, BAIDU_API_BASE=closed), store, http).probe()
    assert down == f"baidu: request failed (ConnectError) (at {closed}/oauth/2.0/token)"
