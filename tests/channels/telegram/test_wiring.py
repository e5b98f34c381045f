"""How the composition root finds the bot: settings turn it on, pick webhook or polling, and refuse what cannot work."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from channels import enabled_channels
from channels.telegram import TelegramChannel
from chatgate.runtime import build_web_app
from core.services import Services
from tests.channels.telegram.conftest import SECRET


def test_no_token_no_bot(services: Services) -> None:
    assert enabled_channels(services) == []


async def test_polling_has_a_runner_and_no_webhook_route(services: Services) -> None:
    services.settings = services.settings.model_copy(update={"TELEGRAM_BOT_TOKEN": SecretStr("123:abc")})
    (channel,) = enabled_channels(services)
    try:
        assert isinstance(channel, TelegramChannel) and channel.name == "telegram"
        assert channel.blueprint() is None and len(channel.runners()) == 1
        client = build_web_app(services, [channel]).test_client()
        assert (await client.post("/telegram/webhook", json={})).status_code == 404
    finally:
        await channel.telegram.close()


async def test_webhook_mode_registers_the_route(services: Services) -> None:
    update = {"TELEGRAM_BOT_TOKEN": SecretStr("123:abc"), "TELEGRAM_MODE": "webhook",
              "TELEGRAM_WEBHOOK_SECRET": SecretStr(SECRET)}  # fmt: skip
    services.settings = services.settings.model_copy(update=update)
    (channel,) = enabled_channels(services)
    try:
        client = build_web_app(services, [channel]).test_client()
        assert (await client.post("/telegram/webhook", json={})).status_code == 401
    finally:
        await channel.telegram.close()


TOKEN = {"TELEGRAM_BOT_TOKEN": SecretStr("123:abc")}
WEBHOOK = {**TOKEN, "TELEGRAM_MODE": "webhook"}


@pytest.mark.parametrize(
    ("update", "complaint"),
    [
        ({"TELEGRAM_BOT_TOKEN": SecretStr("not-a-token")}, "TELEGRAM_BOT_TOKEN"),
        (WEBHOOK, "TELEGRAM_WEBHOOK_SECRET"),
        ({**WEBHOOK, "TELEGRAM_WEBHOOK_SECRET": SecretStr("has spaces")}, "TELEGRAM_WEBHOOK_SECRET"),
        ({**WEBHOOK, "TELEGRAM_WEBHOOK_SECRET": SecretStr(SECRET), "DOMAIN": ""}, "DOMAIN"),
    ],
)
def test_settings_that_cannot_work_stop_the_start(services: Services, update: dict, complaint: str) -> None:
    services.settings = services.settings.model_copy(update=update)
    with pytest.raises(ValueError, match=complaint) as raised:
        enabled_channels(services)
    assert "abc" not in str(raised.value)  # the token is never echoed
