"""`chatgate doctor` on the Telegram bot: the token really asked (getMe), the webhook compared, settings refused."""

from __future__ import annotations

from pydantic import SecretStr

from channels.telegram.checks import telegram_findings
from core.settings import Settings
from tests.channels.telegram.conftest import SECRET
from tests.fakes.telegram_api import FakeTelegram


async def test_a_good_token_is_accepted_and_a_stale_webhook_mentioned(settings: Settings, fake: FakeTelegram) -> None:
    fake.state.webhook = {"url": "https://old.example/telegram/webhook"}
    findings = await telegram_findings(settings.model_copy(update=fake.settings_update()))
    assert ("ok", f"telegram: the token is accepted: @{fake.username}") in findings
    assert any(level == "warn" and "deletes it to poll" in text for level, text in findings)
    assert [call.method for call in fake.calls] == ["getMe", "getWebhookInfo"]


async def test_a_refused_token_and_unusable_webhook_settings_fail(settings: Settings, fake: FakeTelegram) -> None:
    update = {**fake.settings_update(), "TELEGRAM_BOT_TOKEN": SecretStr("123456789:wrong"), "TELEGRAM_MODE": "webhook"}
    findings = await telegram_findings(settings.model_copy(update=update))
    failures = [text for level, text in findings if level == "fail"]
    assert any("TELEGRAM_WEBHOOK_SECRET" in text for text in failures)
    assert any("https DOMAIN" in text for text in failures)
    assert any("401" in text for text in failures) and not any("wrong" in text for _, text in findings)


async def test_no_token_no_findings(settings: Settings) -> None:
    assert await telegram_findings(settings) == []
    update = {"TELEGRAM_BOT_TOKEN": SecretStr("123:abc"), "TELEGRAM_API_BASE": "http://127.0.0.1:9",
              "TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_SECRET": SecretStr(SECRET),
              "DOMAIN": "https://chat.example"}  # fmt: skip
    findings = await telegram_findings(settings.model_copy(update=update))
    assert findings[-1][0] == "fail" and "did not answer" in findings[-1][1] and "abc" not in findings[-1][1]
