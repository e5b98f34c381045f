"""The Tencent TMS provider against a loopback TMS that verifies the TC3 signature."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from core.errors import ContentBlocked
from core.moderation import build_moderation
from core.moderation.tencent import TencentProvider
from core.moderation.verdicts import ProviderError
from core.settings import Settings
from core.store.connection import Store
from core.tc3 import tc3_headers
from tests.fakes.tencent_tms import FakeTencentTMS


@pytest.fixture
async def tms() -> AsyncIterator[FakeTencentTMS]:
    fake = FakeTencentTMS(block_words={"炸弹": "Illegal", "bomb": "Illegal"}, review_words={"赌博": "Gamble"})
    async with fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def tms_settings(settings: Settings, fake: FakeTencentTMS, **extra: Any) -> Settings:
    update: dict[str, Any] = {
        "TEXT_SECURITY": ["tencent"],
        "TENCENT_SECRETID": fake.secret_id,
        "TENCENT_SECRETKEY": SecretStr(fake.secret_key),
        "TENCENT_TMS_ENDPOINT": fake.url,
        "MODERATION_TIMEOUT_SECONDS": 2.0,
        **extra,
    }
    return settings.model_copy(update=update)


async def test_block_review_pass_mapping(settings: Settings, tms: FakeTencentTMS, http: httpx.AsyncClient) -> None:
    provider = TencentProvider(tms_settings(settings, tms), http, time.time)
    blocked = await provider.check("how to make a BOMB at home", "42")
    assert (blocked.decision, blocked.label, blocked.words) == ("block", "Illegal", ("bomb",))
    review = await provider.check("一起去赌博吧", "42")
    assert (review.decision, review.label) == ("review", "Gamble")
    assert (await provider.check("你好，世界", "42")).decision == "pass"  # Keywords: null is fine
    sent = tms.requests[0]
    assert sent.body["User"] == {"UserId": "42"}
    assert sent.headers["x-tc-region"] == "ap-guangzhou"
    assert sent.headers["host"] == httpx.URL(tms.url).netloc.decode()
    assert all(request.error == "" for request in tms.requests)


async def test_wrong_secret_is_caught_by_the_fake(
    settings: Settings, tms: FakeTencentTMS, http: httpx.AsyncClient
) -> None:
    wrong = tms_settings(settings, tms, TENCENT_SECRETKEY=SecretStr("not-the-secret"))
    with pytest.raises(ProviderError, match=r"AuthFailure\.SignatureFailure"):
        await TencentProvider(wrong, http, time.time).check("hello", "1")
    assert tms.requests[-1].error == "AuthFailure.SignatureFailure"
    unknown_id = tms_settings(settings, tms, TENCENT_SECRETID="AKIDsomeoneelse")
    with pytest.raises(ProviderError, match=r"AuthFailure\.SecretIdNotFound"):
        await TencentProvider(unknown_id, http, time.time).check("hello", "1")


async def test_fake_checks_body_and_host_against_the_signature(tms: FakeTencentTMS, http: httpx.AsyncClient) -> None:
    host = httpx.URL(tms.url).netloc.decode()
    payload = json.dumps({"Content": base64.b64encode(b"hello").decode()}).encode()

    def signed(sign_host: str, sign_payload: bytes) -> dict[str, str]:
        return tc3_headers(
            secret_id=tms.secret_id,
            secret_key=tms.secret_key,
            service="tms",
            host=sign_host,
            action="TextModeration",
            version="2020-12-29",
            region="ap-guangzhou",
            payload=sign_payload,
            timestamp=int(time.time()),
        )

    good = await http.post(tms.url + "/", content=payload, headers=signed(host, payload))
    assert good.json()["Response"]["Suggestion"] == "Pass"
    tampered_payload = json.dumps({"Content": base64.b64encode(b"bomb").decode()}).encode()
    tampered = await http.post(tms.url + "/", content=tampered_payload, headers=signed(host, payload))
    assert tampered.status_code == 200
    assert tampered.json()["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"
    other_host = signed("tms.tencentcloudapi.com", payload)
    other_host["Host"] = host  # the signature covers a different host than the one sent
    moved = await http.post(tms.url + "/", content=payload, headers=other_host)
    assert moved.json()["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"
    assert "RequestId" in moved.json()["Response"]


async def test_clock_skew_over_five_minutes_is_signature_expire(
    settings: Settings, tms: FakeTencentTMS, http: httpx.AsyncClient
) -> None:
    provider = TencentProvider(tms_settings(settings, tms), http, lambda: time.time() - 400)
    with pytest.raises(ProviderError, match=r"AuthFailure\.SignatureExpire"):
        await provider.check("hello", "1")
    within = TencentProvider(tms_settings(settings, tms), http, lambda: time.time() - 200)
    assert (await within.check("hello", "1")).decision == "pass"


async def test_long_text_is_chunked_to_ten_thousand_chars(
    settings: Settings, tms: FakeTencentTMS, http: httpx.AsyncClient
) -> None:
    provider = TencentProvider(tms_settings(settings, tms), http, time.time)
    text = "安" * 9_998 + "炸弹" + "全" * 15_000  # the word straddles the first cut at 10,000
    verdict = await provider.check(text, "1")
    assert verdict.decision == "block"
    assert len(tms.requests) == 3
    assert all(len(request.text) <= 10_000 and not request.error for request in tms.requests)
    assert "".join(request.text[:9_950] for request in tms.requests[:-1]) + tms.requests[-1].text == text


async def test_fail_open_and_fail_closed_on_a_wrong_signature(
    settings: Settings, store: Store, tms: FakeTencentTMS, http: httpx.AsyncClient
) -> None:
    wrong = {"TENCENT_SECRETKEY": SecretStr("wrong")}
    opened = build_moderation(tms_settings(settings, tms, MODERATION_FAIL_OPEN=True, **wrong), store, http)
    await opened.check_texts(["bomb"], user_id=1)  # TMS refused us: passed with a warning, not blocked
    closed = build_moderation(tms_settings(settings, tms, MODERATION_FAIL_OPEN=False, **wrong), store, http)
    with pytest.raises(ContentBlocked) as caught:
        await closed.check_texts(["hello"], user_id=1)
    assert caught.value.data == {"provider": "tencent", "label": "provider_unavailable", "direction": "input"}
    assert "wrong" not in repr(caught.value)


# --- the doctor's check --------------------------------------------------------------------------------------------
async def test_probe_passes_with_one_signed_call(
    settings: Settings, tms: FakeTencentTMS, http: httpx.AsyncClient
) -> None:
    provider = TencentProvider(tms_settings(settings, tms), http, time.time)
    assert await provider.probe() == []
    [seen] = tms.requests
    assert (seen.text, seen.error, seen.headers["x-tc-action"]) == ("ok", "", "TextModeration")
    assert "billed" in TencentProvider.CHECK_NOTE  # the doctor prints what the check costs


async def test_probe_names_a_wrong_secret_without_echoing_it(
    settings: Settings, tms: FakeTencentTMS, http: httpx.AsyncClient
) -> None:
    wrong = tms_settings(settings, tms, TENCENT_SECRETKEY=SecretStr("wrong-tms-secret"))
    [problem] = await TencentProvider(wrong, http, time.time).probe()
    assert problem.startswith("tencent: AuthFailure.SignatureFailure: ") and f"(at {tms.url}/)" in problem
    assert "wrong-tms-secret" not in problem and tms.secret_key not in problem
    [unknown_id] = await TencentProvider(
        tms_settings(settings, tms, TENCENT_SECRETID="AKIDnope"), http, time.time
    ).probe()
    assert "AuthFailure.SecretIdNotFound" in unknown_id


async def test_probe_reports_unreachable_and_slow_endpoints(
    settings: Settings, tms: FakeTencentTMS, http: httpx.AsyncClient
) -> None:
    async with FakeTencentTMS() as gone:
        closed = gone.url
    [down] = await TencentProvider(tms_settings(settings, tms, TENCENT_TMS_ENDPOINT=closed), http, time.time).probe()
    assert down == f"tencent: request failed (ConnectError) (at {closed}/)"
    tms.fail = "timeout"
    slow = tms_settings(settings, tms, MODERATION_TIMEOUT_SECONDS=0.3)
    started = time.monotonic()
    [late] = await TencentProvider(slow, http, time.time).probe()
    assert "ReadTimeout" in late and time.monotonic() - started < 2
