"""In real Chromium: the account page's chat apps section: get a bind code with the Telegram deep link, bind, and
see it linked; hidden when the site runs no bot. Screenshots: test-output/screenshots/account-channels-*."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from pydantic import SecretStr

from core.accounts.channel_identities import bind_with_code
from core.site.bots import set_bot_name
from tests.browser import test_auth_pages
from tests.browser.conftest import LiveServer
from tests.browser.test_auth_pages import LOOKS, Tab, make_user, sign_in_quietly

open_tab = test_auth_pages.open_tab  # the same tab fixture (console errors fail the test)

pytestmark = pytest.mark.browser

BOT = "chatgate_demo_bot"


@pytest.fixture
def telegram_on(server: LiveServer) -> Iterator[LiveServer]:
    """The live server with a Telegram bot configured (its name known, as after the bot's first start)."""
    assert server.services is not None
    settings = server.services.settings
    settings.TELEGRAM_BOT_TOKEN = SecretStr("123456:browser-test")
    server.call(lambda services: set_bot_name(services.store, "telegram", BOT))
    try:
        yield server
    finally:
        settings.TELEGRAM_BOT_TOKEN = SecretStr("")


@pytest.mark.parametrize(("lang", "viewport"), LOOKS)
def test_bind_code_deep_link_and_linked_state(
    open_tab: Any, telegram_on: LiveServer, lang: str, viewport: dict[str, int]
) -> None:
    server = telegram_on
    tab: Tab = open_tab(lang, viewport)
    make_user(server, "tg@example.com", lang=lang)
    sign_in_quietly(tab, server, "tg@example.com")
    page = tab.page
    page.goto(f"{server.url}/account#channels")
    section = page.locator("#channels")
    expect(section).to_be_visible()
    expect(page.locator("#channel-list")).to_contain_text(tab.t("channels.not_bound"))
    page.click("#bind-code-button")
    code = page.locator("#bind-code-value")
    expect(code).to_have_text(re.compile(r"^\d{8}$"))
    value = code.inner_text()
    expect(page.locator("#bind-telegram-link")).to_have_attribute("href", f"https://t.me/{BOT}?start={value}")
    expect(page.locator("#bind-telegram-hint")).to_contain_text(f"/bind {value}")
    section.scroll_into_view_if_needed()
    tab.shot("account-channels")
    server.call(
        lambda services: bind_with_code(
            services.store, services.settings, "telegram", "777", value, now=services.clock()
        )
    )
    page.reload()
    expect(page.locator("#channel-list")).to_contain_text(tab.t("channels.bound"))
    expect(page.locator("#channel-list")).to_contain_text(f"@{BOT}")


def test_the_section_is_hidden_without_a_bot(open_tab: Any, server: LiveServer) -> None:
    tab: Tab = open_tab("en", {"width": 1440, "height": 900})
    make_user(server, "nobot@example.com")
    sign_in_quietly(tab, server, "nobot@example.com")
    tab.page.goto(f"{server.url}/account")
    expect(tab.page.locator("#keys")).to_be_visible()
    expect(tab.page.locator("#channels")).to_be_hidden()
    expect(tab.page.locator("#channels-nav")).to_be_hidden()
