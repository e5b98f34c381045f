"""The OpenAI moderation provider against a loopback /v1/moderations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from core.moderation.openai_mod import OpenAIProvider
from core.moderation.verdicts import ProviderError
from core.settings import Settings
from tests.fakes.openai_moderation import FakeOpenAIModeration


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAIModeration]:
    server = FakeOpenAIModeration(flag_words={"kill them": "violence"})
    async with server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def openai_settings(settings: Settings, fake: FakeOpenAIModeration, **extra: Any) -> Settings:
    update: dict[str, Any] = {
        "OPENAI_ENDPOINT": fake.url,
        "OPENAI_API_KEY": SecretStr(fake.api_key),
        "MODERATION_TIMEOUT_SECONDS": 2.0,
        **extra,
    }
    return settings.model_copy(update=update)


async def test_flagged_blocks_and_clean_passes(
    settings: Settings, fake: FakeOpenAIModeration, http: httpx.AsyncClient
) -> None:
    provider = OpenAIProvider(openai_settings(settings, fake), http)
    verdict = await provider.check("I will KILL THEM all", "1")
    assert (verdict.decision, verdict.label) == ("block", "violence")
    assert (await provider.check("have a nice day", "1")).decision == "pass"
    assert fake.models == ["omni-moderation-latest", "omni-moderation-latest"]


async def test_long_text_goes_as_one_array_of_chunks(
    settings: Settings, fake: FakeOpenAIModeration, http: httpx.AsyncClient
) -> None:
    provider = OpenAIProvider(openai_settings(settings, fake), http)
    text = "x" * 1_995 + "kill them" + "y" * 5_000
    assert (await provider.check(text, "1")).decision == "block"
    assert len(fake.inputs) == 1 and len(fake.inputs[0]) == 4
    assert max(len(chunk) for chunk in fake.inputs[0]) <= 2_000


async def test_wrong_key_and_a_down_endpoint_are_provider_errors(
    settings: Settings, fake: FakeOpenAIModeration, http: httpx.AsyncClient
) -> None:
    wrong = OpenAIProvider(openai_settings(settings, fake, OPENAI_API_KEY=SecretStr("sk-wrong")), http)
    with pytest.raises(ProviderError, match="HTTP 401: invalid_api_key"):
        await wrong.check("hello", "1")
    fake.fail = "500"
    with pytest.raises(ProviderError, match="HTTP 500"):
        await OpenAIProvider(openai_settings(settings, fake), http).check("hello", "1")
    missing = OpenAIProvider(openai_settings(settings, fake, OPENAI_API_KEY=SecretStr("")), http)
    assert missing.missing_settings() == ["OPENAI_API_KEY"]
    with pytest.raises(ProviderError, match="not configured"):
        await missing.check("hello", "1")


async def test_a_separate_moderation_endpoint_wins(
    settings: Settings, fake: FakeOpenAIModeration, http: httpx.AsyncClient
) -> None:
    configured = openai_settings(
        settings, fake, OPENAI_ENDPOINT="http://127.0.0.1:9", OPENAI_MODERATION_ENDPOINT=fake.url
    )
    assert (await OpenAIProvider(configured, http).check("kill them", "1")).decision == "block"


# --- the doctor's check --------------------------------------------------------------------------------------------
async def test_probe_moderates_ok_once(settings: Settings, fake: FakeOpenAIModeration, http: httpx.AsyncClient) -> None:
    assert await OpenAIProvider(openai_settings(settings, fake), http).probe() == []
    assert fake.inputs == [["ok"]]


async def test_probe_names_a_wrong_key_without_echoing_it(
    settings: Settings, fake: FakeOpenAIModeration, http: httpx.AsyncClient
) -> None:
    wrong = openai_settings(settings, fake, OPENAI_API_KEY=SecretStr("sk-wrong-key"))
    [problem] = await OpenAIProvider(wrong, http).probe()
    assert problem == f"openai: HTTP 401: invalid_api_key (at {fake.url}/v1/moderations)"
    assert "sk-wrong-key" not in problem and fake.inputs == []


async def test_probe_reports_an_unreachable_endpoint(
    settings: Settings, fake: FakeOpenAIModeration, http: httpx.AsyncClient
) -> None:
    async with FakeOpenAIModeration() as gone:
        closed = gone.url
    [down] = await OpenAIProvider(openai_settings(settings, fake, OPENAI_ENDPOINT=closed), http).probe()
    assert down == f"openai: request failed (ConnectError) (at {closed}/v1/moderations)"
