"""Signing in on the web with a code from the WeChat official account: the page, the API, and its refusals."""

from __future__ import annotations

from pydantic import SecretStr
from quart import Quart

from core.accounts.channel_identities import identify
from core.accounts.login_codes import issue_login_code
from tests.webui.conftest import MakeApp
from web.context import services


async def _code(app: Quart) -> tuple[int, str]:
    async with app.app_context():
        svc = services()
        user = await identify(svc.store, svc.settings, "wechat", "o-alice", now=svc.clock())
        return user.id, await issue_login_code(svc.store, user.id)


async def test_a_code_from_the_official_account_signs_the_browser_in(make_app: MakeApp) -> None:
    app = await make_app(WECHAT_TOKEN=SecretStr("token"), NEXT_PUBLIC_WECHAT_OA="ChatGate助手")
    client = app.test_client()
    login_page = await (await client.get("/login")).get_data(as_text=True)
    assert 'href="/login/code"' in login_page
    page = await client.get("/login/code?next=/pricing")
    text = await page.get_data(as_text=True)
    assert page.status_code == 200 and "code-login-form" in text and "ChatGate助手" in text
    user_id, code = await _code(app)
    signed_in = await client.post("/api/auth/login-code", json={"code": f"{code[:4]} {code[4:]}"})
    assert signed_in.status_code == 200 and (await signed_in.get_json())["user"]["id"] == user_id
    me = await client.get("/api/me")
    assert me.status_code == 200 and (await me.get_json())["user"]["id"] == user_id
    again = await app.test_client().post("/api/auth/login-code", json={"code": code})
    assert again.status_code == 400 and (await again.get_json())["error"]["code"] == "invalid_code"


async def test_refusals(make_app: MakeApp) -> None:
    app = await make_app()
    client = app.test_client()
    assert 'href="/login/code"' not in await (await client.get("/login")).get_data(as_text=True)  # no WeChat here
    _user_id, code = await _code(app)
    cross_site = await client.post(
        "/api/auth/login-code", json={"code": code}, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    malformed = await client.post("/api/auth/login-code", json={"code": code, "extra": 1})
    assert malformed.status_code == 400
    assert (await client.get("/api/me")).status_code == 401
