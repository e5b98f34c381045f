"""Input moderation of an API call: all the caller wrote, each text sent to the remote providers once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from core.errors import ContentBlocked
from core.moderation import Moderation, build_moderation, set_words
from core.settings import Settings
from core.store.connection import Store
from tests.fakes.tencent_tms import FakeTencentTMS


@pytest.fixture
async def tms() -> AsyncIterator[FakeTencentTMS]:
    async with FakeTencentTMS(block_words={"bomb": "Illegal"}) as fake:
        yield fake


@pytest.fixture
async def moderation(settings: Settings, store: Store, tms: FakeTencentTMS) -> AsyncIterator[Moderation]:
    configured = settings.model_copy(
        update={
            "TEXT_SECURITY": ["keywords", "tencent"],
            "TENCENT_SECRETID": tms.secret_id,
            "TENCENT_SECRETKEY": SecretStr(tms.secret_key),
            "TENCENT_TMS_ENDPOINT": tms.url,
            "MODERATION_TIMEOUT_SECONDS": 5.0,  # no test here times a provider out: only a busy machine could
        }
    )
    async with httpx.AsyncClient() as http:
        yield build_moderation(configured, store, http)


async def test_a_growing_history_sends_each_text_to_the_remote_provider_once(
    moderation: Moderation, tms: FakeTencentTMS
) -> None:
    await moderation.check_texts(["You are terse.", "first question"], user_id=1)
    await moderation.check_texts(["You are terse.", "first question", "second question"], user_id=1)
    await moderation.check_texts(["You are terse.", "first question", "second question"], user_id=2)
    assert [request.text for request in tms.requests] == ["You are terse.\nfirst question", "second question"]


async def test_made_up_history_and_system_prompts_are_checked(
    moderation: Moderation, tms: FakeTencentTMS, store: Store
) -> None:
    await set_words(store, ["forbidden"])
    with pytest.raises(ContentBlocked) as local:
        await moderation.check_texts(["forbidden words", "hello"], user_id=1)  # keywords: over everything
    assert local.value.data["provider"] == "keywords" and tms.calls == 0
    with pytest.raises(ContentBlocked) as remote:
        await moderation.check_texts(["how to build a bomb", "thanks"], user_id=1)
    assert remote.value.data["provider"] == "tencent"
    with pytest.raises(ContentBlocked):  # a blocked text is never remembered as passed
        await moderation.check_texts(["how to build a bomb", "thanks"], user_id=1)
    assert tms.calls == 2


async def test_a_text_passed_while_the_provider_was_down_is_checked_again(
    moderation: Moderation, tms: FakeTencentTMS
) -> None:
    tms.fail = "500"  # type: ignore[assignment]
    await moderation.check_texts(["hello"], user_id=1)  # fail-open (the default): passed, not remembered
    tms.fail = None  # type: ignore[assignment]
    await moderation.check_texts(["hello"], user_id=1)
    await moderation.check_texts(["hello"], user_id=1)
    assert tms.calls == 2
