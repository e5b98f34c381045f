"""`chatgate doctor` checks the official account: its settings, and the AppID and secret against the token API."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from chatgate.doctor import run_doctor
from core.settings import Settings
from core.store.connection import Store
from tests.fakes.wechat import FakeWeChat


def lines_of(output: str, prefix: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(prefix)]


async def test_doctor_fetches_the_token_and_warns_about_plain_mode(
    settings: Settings, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeWeChat() as fake:
        await run_doctor(settings.model_copy(update={**fake.settings_update(), "WECHAT_MODE": "service"}))
    output = capsys.readouterr().out
    assert "[ok  ] wechat: service mode, server URL http://localhost:8000/wechat" in output, output
    assert "[warn] wechat: plain mode" in output
    assert "[ok  ] wechat: the API accepts the AppID and secret" in output
    assert fake.token_requests == 1 and lines_of(output, "[FAIL] wechat") == []


async def test_doctor_fails_on_a_wrong_secret_and_on_bad_settings(
    settings: Settings, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeWeChat(aes=True) as fake:
        wrong = {**fake.settings_update(), "WECHAT_APPSECRET": SecretStr("wrong-wechat-secret")}
        assert await run_doctor(settings.model_copy(update=wrong)) == 1
    output = capsys.readouterr().out
    assert lines_of(output, "[FAIL] wechat") == [
        f"[FAIL] wechat: the access token could not be fetched: WeChat API error 40125: {fake.api_errors[0]['errmsg']}"
    ], output
    assert "wrong-wechat-secret" not in output and "plain mode" not in output
    broken = {**fake.settings_update(), "WECHAT_AES_KEY": SecretStr("too-short")}
    assert await run_doctor(settings.model_copy(update=broken)) == 1
    assert "[FAIL] wechat: WECHAT_AES_KEY must be the 43 letters and digits" in capsys.readouterr().out
