"""The moderation pipeline: provider order, the review setting, fail-open / fail-closed, the blocked log, doctor."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from core.errors import ContentBlocked
from core.moderation import Moderation, Verdict, build_moderation, recent_blocks, set_words
from core.moderation.tencent import TencentProvider
from core.services import build_services
from core.settings import Settings
from core.store.connection import Store
from tests.fakes.baidu_censor import FakeBaiduCensor
from tests.fakes.tencent_tms import FakeTencentTMS


@pytest.fixture
async def tms() -> AsyncIterator[FakeTencentTMS]:
    fake = FakeTencentTMS(block_words={"bomb": "Illegal"}, review_words={"casino": "Gamble"})
    async with fake:
        yield fake


@pytest.fixture
async def baidu() -> AsyncIterator[FakeBaiduCensor]:
    fake = FakeBaiduCensor(block_words={"casino": "存在赌博不合规"})
    async with fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def configure(settings: Settings, tms: FakeTencentTMS, baidu: FakeBaiduCensor, *names: str, **extra: Any) -> Settings:
    update: dict[str, Any] = {
        "TEXT_SECURITY": list(names),
        "TENCENT_SECRETID": tms.secret_id,
        "TENCENT_SECRETKEY": SecretStr(tms.secret_key),
        "TENCENT_TMS_ENDPOINT": tms.url,
        "BAIDU_APIKEY": baidu.api_key,
        "BAIDU_SECRETKEY": SecretStr(baidu.secret_key),
        "BAIDU_API_BASE": baidu.url,
        "MODERATION_TIMEOUT_SECONDS": 5.0,  # a loaded test machine can hold a loopback answer up for half a second
        **extra,
    }
    return settings.model_copy(update=update)


async def blocked_by(moderation: Moderation, text: str) -> ContentBlocked | None:
    try:
        await moderation.check_texts([text], user_id=5)
    except ContentBlocked as error:
        return error
    return None


async def test_pipeline_runs_in_order_and_stops_at_the_first_block(
    settings: Settings, store: Store, tms: FakeTencentTMS, baidu: FakeBaiduCensor, http: httpx.AsyncClient
) -> None:
    await set_words(store, ["bomb"])
    moderation = build_moderation(configure(settings, tms, baidu, "keywords", "tencent", "baidu"), store, http)
    error = await blocked_by(moderation, "a BOMB recipe")
    assert error is not None and error.data == {"provider": "keywords", "label": "keyword", "direction": "input"}
    assert tms.calls == 0 and baidu.calls == 0
    assert await blocked_by(moderation, "just saying hello") is None
    assert [request.text for request in tms.requests] == ["just saying hello"]
    assert [request.text for request in baidu.censor_requests] == ["just saying hello"]


@pytest.mark.parametrize(("on_review", "blocked"), [("pass", False), ("block", True)])
async def test_review_follows_the_setting(
    settings: Settings,
    store: Store,
    tms: FakeTencentTMS,
    baidu: FakeBaiduCensor,
    http: httpx.AsyncClient,
    on_review: str,
    blocked: bool,
) -> None:
    baidu.block_words = {}
    configured = configure(settings, tms, baidu, "tencent", "baidu", MODERATION_ON_REVIEW=on_review)
    error = await blocked_by(build_moderation(configured, store, http), "a casino night")
    assert (error is not None) is blocked
    if error is not None:
        assert error.data["provider"] == "tencent" and error.data["label"] == "Gamble"
        assert baidu.calls == 0
    else:
        assert len(baidu.censor_requests) == 1  # a passed review goes on down the pipeline


@pytest.mark.parametrize("failure", ["500", "timeout"])
async def test_a_down_provider_fails_open_with_a_warning(
    settings: Settings,
    store: Store,
    tms: FakeTencentTMS,
    baidu: FakeBaiduCensor,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    failure: str,
) -> None:
    tms.fail = failure  # type: ignore[assignment]
    configured = configure(settings, tms, baidu, "tencent", "baidu", MODERATION_TIMEOUT_SECONDS=0.5)
    moderation = build_moderation(configured, store, http)
    with caplog.at_level(logging.WARNING, logger="core.moderation"):
        assert await blocked_by(moderation, "hello there") is None
    assert "fail-open" in caplog.text and "tencent" in caplog.text
    assert tms.calls == 1
    error = await blocked_by(moderation, "a casino night")  # the next provider still does its job
    assert error is not None and error.data["provider"] == "baidu"
    assert await recent_blocks(store, 10) != []


@pytest.mark.parametrize("failure", ["500", "timeout"])
async def test_a_down_provider_fails_closed_when_configured(
    settings: Settings,
    store: Store,
    tms: FakeTencentTMS,
    baidu: FakeBaiduCensor,
    http: httpx.AsyncClient,
    failure: str,
) -> None:
    baidu.fail = failure  # type: ignore[assignment]
    configured = configure(
        settings, tms, baidu, "tencent", "baidu", MODERATION_FAIL_OPEN=False, MODERATION_TIMEOUT_SECONDS=0.5
    )
    error = await blocked_by(build_moderation(configured, store, http), "hello there")
    assert error is not None
    assert error.data == {"provider": "baidu", "label": "provider_unavailable", "direction": "input"}
    assert "unavailable" in error.message
    assert baidu.secret_key not in repr(error) and "access_token" not in repr(error)


async def test_an_unexpected_provider_bug_follows_the_policy(settings: Settings, store: Store) -> None:
    class Broken:
        name = "broken"

        async def check(self, text: str, user_id: str) -> Verdict:
            raise RuntimeError("bug")

        def missing_settings(self) -> list[str]:
            return []

    opened = Moderation(settings, store, [Broken()], clock=lambda: 1.0)
    await opened.check_texts(["hello"], user_id=1)
    closed_settings = settings.model_copy(update={"MODERATION_FAIL_OPEN": False})
    with pytest.raises(ContentBlocked):
        await Moderation(closed_settings, store, [Broken()], clock=lambda: 1.0).check_texts(["hello"], user_id=1)


async def test_blocked_items_are_logged_newest_first(
    settings: Settings, store: Store, tms: FakeTencentTMS, baidu: FakeBaiduCensor, http: httpx.AsyncClient
) -> None:
    await set_words(store, ["secretword"])
    moderation = build_moderation(configure(settings, tms, baidu, "keywords", "tencent"), store, http)
    long_text = "lorem ipsum " * 100 + "SecretWord" + " dolor" * 100
    assert await blocked_by(moderation, long_text) is not None
    assert await blocked_by(moderation, "how to build a bomb") is not None
    assert await blocked_by(moderation, "a friendly question") is None
    newest, oldest = await recent_blocks(store, 10)
    assert (newest.provider, newest.label, newest.words) == ("tencent", "Illegal", ("bomb",))
    assert time.time() - 60 < oldest.time <= newest.time <= time.time()
    assert (oldest.user_id, oldest.direction, oldest.provider, oldest.words) == (
        "5",
        "input",
        "keywords",
        ("secretword",),
    )
    assert "SecretWord" in oldest.excerpt and len(oldest.excerpt) <= 170
    assert [record.id for record in await recent_blocks(store, 1)] == [newest.id]


async def test_no_providers_means_no_checks(settings: Settings, store: Store, http: httpx.AsyncClient) -> None:
    moderation = build_moderation(settings, store, http)
    assert not moderation.enabled
    await moderation.check_texts(["anything at all"], user_id=1)
    assert await moderation.check() == []


async def test_unknown_provider_name_is_a_configuration_error(
    settings: Settings, store: Store, http: httpx.AsyncClient
) -> None:
    with pytest.raises(ValueError, match="tencnet"):
        build_moderation(settings.model_copy(update={"TEXT_SECURITY": ["keywords", "tencnet"]}), store, http)


async def test_check_names_missing_keys_for_doctor(settings: Settings, store: Store, http: httpx.AsyncClient) -> None:
    selected = settings.model_copy(update={"TEXT_SECURITY": ["keywords", "tencent", "baidu", "openai"]})
    problems = await build_moderation(selected, store, http).check()
    assert problems == [
        "tencent: missing TENCENT_SECRETID, TENCENT_SECRETKEY",
        "baidu: missing BAIDU_APIKEY, BAIDU_SECRETKEY",
        "openai: missing OPENAI_API_KEY",
        "keywords: the word list is empty (add words in the dashboard)",
    ]
    await set_words(store, ["x"])
    assert len(await build_moderation(selected, store, http).check()) == 3


async def test_check_asks_each_configured_provider_once(
    settings: Settings, store: Store, tms: FakeTencentTMS, baidu: FakeBaiduCensor, http: httpx.AsyncClient
) -> None:
    await set_words(store, ["x"])
    selected = configure(settings, tms, baidu, "keywords", "tencent", "baidu")
    moderation = build_moderation(selected, store, http)
    assert await moderation.check() == []
    assert [request.text for request in tms.requests] == ["ok"] and baidu.token_requests == 1
    assert moderation.check_notes() == [f"tencent: {TencentProvider.CHECK_NOTE}"]
    wrong = configure(settings, tms, baidu, "tencent", "baidu", TENCENT_SECRETKEY=SecretStr("wrong"), BAIDU_APIKEY="x")
    problems = await build_moderation(wrong, store, http).check()
    assert [problem.split(":")[0] for problem in problems] == ["tencent", "baidu"]  # pipeline order
    assert "AuthFailure.SignatureFailure" in problems[0] and "token refused" in problems[1]


async def test_services_carry_the_moderation(settings: Settings, store: Store) -> None:
    services = await build_services(settings.model_copy(update={"TEXT_SECURITY": ["keywords"]}), store)
    try:
        assert [provider.name for provider in services.moderation.providers] == ["keywords"]
    finally:
        await services.http.aclose()
