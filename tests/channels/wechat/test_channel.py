"""The composition root serves the official account's webhook exactly when WECHAT_TOKEN is set, and refuses settings
that cannot work."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from channels import enabled_channels
from channels.wechat import WeChatChannel
from chatgate.runtime import build_web_app
from core.services import build_services
from core.settings import Settings
from core.store.connection import Store


async def test_the_webhook_is_registered_when_the_token_is_set(settings: Settings, store: Store) -> None:
    plain = await build_services(settings, store)
    assert enabled_channels(plain) == []
    app = build_web_app(plain, [])
    assert "/wechat" not in {rule.rule for rule in app.url_map.iter_rules()}
    await plain.http.aclose()
    configured = settings.model_copy(update={"WECHAT_TOKEN": SecretStr("t"), "WECHAT_PATH": "/hooks/wx"})
    services = await build_services(configured, store)
    channels = enabled_channels(services)
    assert [channel.name for channel in channels] == ["wechat"]
    app = build_web_app(services, channels)
    routes = {(rule.rule, method) for rule in app.url_map.iter_rules() for method in rule.methods or ()}
    assert {("/hooks/wx", "GET"), ("/hooks/wx", "POST")} <= routes
    await services.http.aclose()


@pytest.mark.parametrize(
    ("update", "problem"),
    [
        ({"WECHAT_AES_KEY": SecretStr("short"), "WECHAT_APPID": "wx1"}, "43 letters and digits"),
        ({"WECHAT_AES_KEY": SecretStr("a" * 43)}, "safe mode (WECHAT_AES_KEY) needs WECHAT_APPID"),
        ({"WECHAT_MODE": "service", "WECHAT_APPID": "wx1"}, "WECHAT_MODE=service needs WECHAT_APPID and"),
    ],
)
async def test_settings_that_cannot_work_are_refused_at_start(
    settings: Settings, store: Store, update: dict[str, object], problem: str
) -> None:
    services = await build_services(settings.model_copy(update={"WECHAT_TOKEN": SecretStr("t"), **update}), store)
    try:
        with pytest.raises(ValueError, match=re.escape(problem)):
            WeChatChannel(services)
    finally:
        await services.http.aclose()


def test_the_path_must_be_a_path() -> None:
    with pytest.raises(ValueError, match="WECHAT_PATH"):
        Settings(_env_file=None, WECHAT_PATH="wechat")  # type: ignore[call-arg]
