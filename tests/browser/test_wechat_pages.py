"""In real Chromium: the WeChat official account on the web: the account page says how to bind ("绑定 <code>" to the
official account), and the sign-in page takes a one-time code from the account's 登录 command.
Screenshots: test-output/screenshots/account-wechat-*, login-code-*."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from pydantic import SecretStr

from core.accounts.channel_identities import bind_with_code, identify
from core.accounts.login_codes import issue_login_code
from core.services import Services
from tests.browser import test_auth_pages
from tests.browser.conftest import WECHAT_OA, LiveServer
from tests.browser.test_auth_pages import LOOKS, Tab, make_user, sign_in_quietly

open_tab = test_auth_pages.open_tab  # the same tab fixture (console errors fail the test)

pytestmark = pytest.mark.browser


@pytest.fixture
def wechat_on(server: LiveServer) -> Iterator[LiveServer]:
    """The live server with the official account configured (WECHAT_TOKEN set)."""
    assert server.services is not None
    settings = server.services.settings
    settings.WECHAT_TOKEN = SecretStr("browser-test-token")
    try:
        yield server
    finally:
        settings.WECHAT_TOKEN = SecretStr("")


@pytest.mark.parametrize(("lang", "viewport"), LOOKS)
def test_the_account_page_says_how_to_bind_in_wechat(
    open_tab: Any, wechat_on: LiveServer, lang: str, viewport: dict[str, int]
) -> None:
    server = wechat_on
    tab: Tab = open_tab(lang, viewport)
    email = f"wx-{lang}-{viewport['width']}@example.com"
    make_user(server, email, lang=lang)
    sign_in_quietly(tab, server, email)
    page = tab.page
    page.goto(f"{server.url}/account#channels")
    listing = page.locator("#channel-list")
    expect(listing).to_contain_text(tab.t("channels.wechat"))
    expect(listing).to_contain_text(WECHAT_OA)
    expect(listing).to_contain_text(tab.t("channels.not_bound"))
    page.click("#bind-code-button")
    code = page.locator("#bind-code-value")
    expect(code).to_have_text(re.compile(r"^\d{8}$"))
    value = code.inner_text()
    expect(page.locator("#bind-wechat-hint")).to_have_text(tab.t("channels.wechat_hint", name=WECHAT_OA, code=value))
    expect(page.locator("#bind-telegram-hint")).to_be_hidden()  # this site runs no Telegram bot
    expect(page.locator("#bind-telegram")).to_be_hidden()
    page.locator("#channels").scroll_into_view_if_needed()
    tab.shot("account-wechat")
    openid = f"o-browser-{lang}-{viewport['width']}"
    server.call(lambda svc: bind_with_code(svc.store, svc.settings, "wechat", openid, value, now=svc.clock()))
    page.reload()
    expect(listing).to_contain_text(tab.t("channels.bound"))
    assert not tab.problems, tab.problems


async def _code_for(svc: Services, openid: str) -> str:
    user = await identify(svc.store, svc.settings, "wechat", openid, now=svc.clock())
    return await issue_login_code(svc.store, user.id)


@pytest.mark.parametrize(("lang", "viewport"), LOOKS)
def test_signing_in_with_a_code_from_the_official_account(
    open_tab: Any, wechat_on: LiveServer, lang: str, viewport: dict[str, int]
) -> None:
    server = wechat_on
    tab: Tab = open_tab(lang, viewport)
    page = tab.page
    page.goto(f"{server.url}/login")
    page.get_by_role("link", name=tab.t("login.wechat_code")).click()
    expect(page).to_have_url(f"{server.url}/login/code")
    page.wait_for_load_state()  # the form's script runs before "load": a click before it would not reach it
    expect(page.get_by_role("heading", name=tab.t("codelogin.title"))).to_be_visible()
    expect(page.get_by_text(tab.t("codelogin.subtitle_named", name=WECHAT_OA))).to_be_visible()
    field = page.get_by_role("textbox", name=tab.t("codelogin.field"))
    field.fill("123")
    page.get_by_role("button", name=tab.t("codelogin.submit")).click()
    expect(page.locator("#code-login-code-error")).to_have_text(tab.t("codelogin.invalid"))
    field.fill("00000000")
    page.get_by_role("button", name=tab.t("codelogin.submit")).click()
    expect(page.locator("#code-login-code-error")).to_have_text(tab.t("error.invalid_code"))
    tab.shot("login-code")
    code = server.call(lambda svc: _code_for(svc, f"o-login-{lang}-{viewport['width']}"))
    field.fill(f"{code[:4]} {code[4:]}")
    page.get_by_role("button", name=tab.t("codelogin.submit")).click()
    expect(page).to_have_url(f"{server.url}/")
    me = page.request.get(f"{server.url}/api/me")
    assert me.ok and me.json()["user"]["email"] == ""  # the follower's own (channel-only) account
    assert not [problem for problem in tab.problems if "400" not in problem], tab.problems
