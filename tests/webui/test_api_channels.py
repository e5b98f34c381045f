"""The account's chat apps: bound channels, and a bind code with the Telegram deep link."""

from __future__ import annotations

from pydantic import SecretStr
from quart import Quart

from core.accounts.channel_identities import bind_with_code
from core.site.bots import set_bot_name
from tests.webui.conftest import AuthActions, MakeApp
from web.context import services


async def test_without_a_bot_nothing_is_enabled(app: Quart, auth: AuthActions) -> None:
    await auth.register()
    response = await auth.client.get("/api/account/channels")
    assert await response.get_json() == {
        "channels": [
            {"channel": "telegram", "enabled": False, "bound": False, "bot": None},
            {"channel": "wechat", "enabled": False, "bound": False, "bot": None},
        ]
    }


async def test_a_bind_code_with_the_deep_link_binds_telegram(make_app: MakeApp) -> None:
    app = await make_app(TELEGRAM_BOT_TOKEN=SecretStr("123:abc"))
    auth = AuthActions(app.test_client())
    await auth.register()
    async with app.app_context():
        svc = services()
        await set_bot_name(svc.store, "telegram", "chatgate_bot")
    refused = await auth.client.post("/api/account/bind-code")  # no CSRF token
    assert refused.status_code == 403
    response = await auth.client.post("/api/account/bind-code", headers=auth.headers)
    data = await response.get_json()
    assert len(data["code"]) == 8 and data["code"].isdigit() and data["expires_in"] == 600
    assert data["telegram_link"] == f"https://t.me/chatgate_bot?start={data['code']}"
    async with app.app_context():
        svc = services()
        await bind_with_code(svc.store, svc.settings, "telegram", "4242", data["code"], now=svc.clock())
    listed = await (await auth.client.get("/api/account/channels")).get_json()
    assert listed["channels"][0] == {"channel": "telegram", "enabled": True, "bound": True, "bot": "chatgate_bot"}


async def test_api_keys_cannot_get_bind_codes(app: Quart, auth: AuthActions) -> None:
    await auth.register()
    created = await auth.client.post("/api/keys", json={"name": "k"}, headers=auth.headers)
    key = (await created.get_json())["key"]
    client = app.test_client()
    response = await client.post("/api/account/bind-code", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 403
