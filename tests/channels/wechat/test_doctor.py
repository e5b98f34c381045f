"""`chatgate doctor` checks the official account: its settings, and the AppID and secret against the token API."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.wechat import FakeWeChat
from tests.test_doctor_providers import doctor, lines_of


def env_of(fake: FakeWeChat, **changes: str) -> dict[str, str]:
    update = fake.settings_update()
    values = {name: getattr(value, "get_secret_value", lambda v=value: v)() for name, value in update.items()}
    return {name: str(value) for name, value in {**values, "WECHAT_MODE": "service", **changes}.items()}


async def test_doctor_fetches_the_token_and_warns_about_plain_mode(tmp_path: Path) -> None:
    async with FakeWeChat() as fake:
        _, output = await doctor(tmp_path / "data", env_of(fake))
    assert "[ok  ] wechat: service mode, server URL " in output, output
    assert "[warn] wechat: plain mode" in output
    assert "[ok  ] wechat: the API accepts the AppID and secret" in output
    assert fake.token_requests == 1 and lines_of(output, "[FAIL] wechat") == []


async def test_doctor_fails_on_a_wrong_secret(tmp_path: Path) -> None:
    async with FakeWeChat(aes=True) as fake:
        code, output = await doctor(tmp_path / "data", env_of(fake, WECHAT_APPSECRET="wrong-wechat-secret"))
    assert code == 1 and lines_of(output, "[FAIL] wechat") == [
        f"[FAIL] wechat: the access token could not be fetched: WeChat API error 40125: {fake.api_errors[0]['errmsg']}"
    ], output
    assert "wrong-wechat-secret" not in output and "plain mode" not in output
