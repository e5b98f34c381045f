"""In real Chromium: register, sign in, sign out, reset a password, invite a friend, the dashboard sign-in;
in Chinese and English, at desktop and phone widths, light and dark. Screenshots: test-output/screenshots/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from admin.messages import CATALOGUE as ADMIN_CATALOGUE
from core.accounts.registration import create_admin, register_user
from core.accounts.users import User
from core.i18n import Catalogue
from tests.browser.conftest import CODE_COOLDOWN, DESKTOP, PHONE, WECHAT_OA, LiveServer
from webui.messages import CATALOGUE

translate = Catalogue(CATALOGUE.entries, ADMIN_CATALOGUE.entries).text  # the pages of both apps

pytestmark = pytest.mark.browser

PASSWORD = "browser password 1"
Theme = Literal["light", "dark"]
LOCALES = {"zh-CN": "zh-CN", "en": "en-US"}
LOOKS = [
    pytest.param("zh-CN", DESKTOP, id="zh-desktop"),
    pytest.param("zh-CN", PHONE, id="zh-phone"),
    pytest.param("en", DESKTOP, id="en-desktop"),
    pytest.param("en", PHONE, id="en-phone"),
]
# The elements whose right edge passes the viewport (for the failure message).
OFFENDERS = """() => Array.from(document.querySelectorAll("body *"))
  .filter((node) => node.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 8).map((node) => node.tagName + "#" + node.id + "." + node.className + " " +
    Math.round(node.getBoundingClientRect().right))"""

# Full-page captures resize the viewport, which scrolls a focused input back into view: blur it, then go to the top.
SCROLL_TO_TOP = """() => { if (window.scrollY > 0) { document.activeElement?.blur(); window.scrollTo(0, 0); } }"""


@dataclass
class Tab:
    """One browser context + page, with what went wrong in it and where its screenshots go."""

    context: BrowserContext
    page: Page
    lang: str
    viewport: dict[str, int]
    theme: str
    shots: Path
    problems: list[str] = field(default_factory=list)
    api_posts: list[str] = field(default_factory=list)

    def t(self, key: str, **params: Any) -> str:
        return translate(self.lang, key, **params)

    def shot(self, name: str) -> Path:
        """Save a full-page screenshot named page-lang-width-theme, after checking the page fits its width."""
        overflow = self.overflow()
        assert overflow <= 0, f"{name}: {overflow} px too wide; sticking out: {self.page.evaluate(OFFENDERS)}"
        path = self.shots / f"{name}-{self.lang}-{self.viewport['width']}-{self.theme}.png"
        self.page.evaluate(SCROLL_TO_TOP)  # else the sticky header is drawn mid-page
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def overflow(self) -> int:
        return int(self.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


def _watch(tab: Tab) -> None:
    def console(message: Any) -> None:
        # Failed fetches are logged as errors too; those are asserted by the tests themselves. CSP reports are not.
        if message.type == "error" and "Failed to load resource" not in message.text:
            tab.problems.append(message.text)

    tab.page.on("console", console)
    tab.page.on("pageerror", lambda error: tab.problems.append(f"page error: {error}"))
    tab.page.on("request", lambda request: tab.api_posts.append(request.url) if request.method == "POST" else None)


@pytest.fixture
def open_tab(browser: Browser, screenshot_dir: Path) -> Iterator[Any]:
    tabs: list[Tab] = []

    def make(lang: str, viewport: dict[str, int], theme: Theme = "light") -> Tab:
        size = ViewportSize(width=viewport["width"], height=viewport["height"])
        context = browser.new_context(locale=LOCALES[lang], viewport=size, color_scheme=theme)
        tab = Tab(context, context.new_page(), lang, viewport, theme, screenshot_dir)
        _watch(tab)
        tabs.append(tab)
        return tab

    yield make
    for tab in tabs:
        tab.context.close()
    for tab in tabs:
        assert tab.problems == [], tab.problems


def make_user(server: LiveServer, email: str, lang: str = "") -> User:
    """Create an account directly in core (no code needed without a notifier): setup, not the thing tested."""
    return server.call(
        lambda services: register_user(
            services.store, services.settings, None, email=email, password=PASSWORD, lang=lang, now=time.time()
        )
    )


def sign_in_quietly(tab: Tab, server: LiveServer, email: str) -> None:
    """Sign the tab's browser context in through the API (the cookie lands in the context)."""
    response = tab.page.request.post(f"{server.url}/api/auth/login", data={"email": email, "password": PASSWORD})
    assert response.ok, response.text()


def register_through_form(tab: Tab, server: LiveServer, email: str, invite: str = "") -> None:
    """Fill the registration form like a person: send code (no submit), read the mail, submit."""
    page = tab.page
    page.goto(f"{server.url}/register" + (f"?code={invite}" if invite else ""))
    page.fill("#register-email", email)
    send = page.locator("[data-send-code]")
    expect(send).to_have_attribute("type", "button")
    send.click()
    expect(send).to_be_disabled()
    expect(send).to_have_text(re.compile(r"\d"))
    assert page.url.startswith(f"{server.url}/register")
    assert not [url for url in tab.api_posts if url.endswith("/api/auth/register")], "send code submitted the form"
    page.fill("#register-code", server.code_for(email))
    page.fill("#register-password", PASSWORD)
    page.click("#register-form [type=submit]")
    page.wait_for_url(f"{server.url}/")


@pytest.mark.parametrize(("lang", "viewport"), LOOKS)
def test_register_sign_out_sign_in(open_tab: Any, server: LiveServer, lang: str, viewport: dict[str, int]) -> None:
    tab: Tab = open_tab(lang, viewport)
    page = tab.page
    email = f"person-{lang.lower()}-{viewport['width']}@example.com"
    page.goto(f"{server.url}/")
    page.wait_for_url(f"{server.url}/login")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.get_by_text(tab.t("help.wechat", name=WECHAT_OA))).to_be_visible()

    page.goto(f"{server.url}/register")
    expect(page.get_by_role("heading", level=1)).to_have_text(tab.t("register.title"))
    tab.shot("register")
    page.fill("#register-email", "not an email")
    page.fill("#register-password", "short")
    page.click("#register-form [type=submit]")
    expect(page.locator("#register-email-error")).to_have_text(tab.t("validate.email"))
    expect(page.locator("#register-password-error")).to_have_text(tab.t("validate.password_short"))
    expect(page.locator("#register-email")).to_be_focused()
    assert not tab.api_posts, "an invalid form reached the server"
    tab.shot("register-errors")

    register_through_form(tab, server, email)
    assert page.request.get(f"{server.url}/api/me").json()["user"]["email"] == email
    page.goto(f"{server.url}/account")
    page.locator("header [data-sign-out]").click()
    page.wait_for_url(f"{server.url}/login")
    tab.shot("login")
    # Sign in with the keyboard only: type, Tab to the password, Enter submits.
    page.locator("#login-account").focus()
    page.keyboard.type(email.upper())
    page.keyboard.press("Tab")
    expect(page.locator("#login-password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/")

    page.goto(f"{server.url}/account")
    expect(page.locator("#session-list .badge")).to_have_text(tab.t("sessions.current"))
    expect(page.locator("#invitee-count")).to_have_text("0")
    tab.shot("account")
    page.locator("header [data-sign-out]").click()
    page.wait_for_url(f"{server.url}/login")
    page.goto(f"{server.url}/account")
    page.wait_for_url(re.compile(r"/login\?next=%2Faccount$"))


def test_wrong_password_is_explained_in_the_language_of_the_page(open_tab: Any, server: LiveServer) -> None:
    tab: Tab = open_tab("zh-CN", PHONE)
    page = tab.page
    page.goto(f"{server.url}/login")
    page.fill("#login-account", "nobody@example.com")
    page.fill("#login-password", "wrong password")
    page.click("#login-form [type=submit]")
    expect(page.locator("#login-password-error")).to_have_text("账号或密码错误。")
    tab.shot("login-error")


def test_language_switcher_and_account_language(open_tab: Any, server: LiveServer) -> None:
    tab: Tab = open_tab("zh-CN", DESKTOP)
    page = tab.page
    page.goto(f"{server.url}/register?code=ABCD2345")
    page.get_by_role("link", name="English").click()
    page.wait_for_url(f"{server.url}/register?code=ABCD2345")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#register-invite")).to_have_value("ABCD2345")
    page.get_by_role("link", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def test_forgot_password_and_sign_in_by_code(open_tab: Any, server: LiveServer) -> None:
    tab: Tab = open_tab("en", DESKTOP)
    page = tab.page
    email = "forgetful@example.com"
    make_user(server, email)
    page.goto(f"{server.url}/login")
    page.get_by_role("link", name=tab.t("login.forgot")).click()
    page.wait_for_url(f"{server.url}/forgot")
    page.fill("#forgot-account", email)
    page.locator("[data-send-code]").click()
    page.fill("#forgot-code", server.code_for(email))
    page.fill("#forgot-password", "a brand new password")
    page.fill("#forgot-confirm", "a different password")
    page.click("#forgot-form [type=submit]")
    expect(page.locator("#forgot-confirm-error")).to_have_text(tab.t("validate.password_mismatch"))
    page.fill("#forgot-confirm", "a brand new password")
    page.click("#forgot-form [type=submit]")
    expect(page.locator("#forgot-done")).to_be_visible()
    tab.shot("forgot-done")

    server.smtp.messages.clear()
    expect(page.locator("[data-send-code]")).to_be_enabled(timeout=(CODE_COOLDOWN + 3) * 1000)
    page.goto(f"{server.url}/login")
    page.get_by_text(tab.t("login.tab_code"), exact=True).click()  # the label of the radio button
    expect(page.locator("#login-password")).to_be_hidden()
    page.fill("#login-account", email)
    page.locator("[data-send-code]").click()
    page.fill("#login-code", server.code_for(email))
    tab.shot("login-code")
    page.click("#login-form [type=submit]")
    page.wait_for_url(f"{server.url}/")


def test_invitation_link_is_copied_prefilled_and_counted(browser: Browser, open_tab: Any, server: LiveServer) -> None:
    inviter: Tab = open_tab("zh-CN", DESKTOP)
    inviter.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    register_through_form(inviter, server, "inviter@example.com")
    inviter.page.goto(f"{server.url}/account#invite")
    link = inviter.page.locator("#invite-link").input_value()
    assert re.fullmatch(rf"{re.escape(server.url)}/register\?code=[A-Z2-9]{{8}}", link), link
    inviter.page.locator("#invite [data-copy]").click()
    expect(inviter.page.locator("#invite-copy-status")).to_have_text("已复制")
    assert inviter.page.evaluate("() => navigator.clipboard.readText()") == link

    friend: Tab = open_tab("en", PHONE)
    friend.page.goto(link)
    code = link.rsplit("=", 1)[1]
    expect(friend.page.locator("#register-invite")).to_have_value(code)
    expect(friend.page.get_by_text(friend.t("register.invited"))).to_be_visible()
    friend.shot("register-invited")
    register_through_form(friend, server, "friend@example.com", invite=code)
    inviter.page.reload()
    expect(inviter.page.locator("#invitee-count")).to_have_text("1")


@pytest.mark.parametrize(("lang", "viewport"), LOOKS)
def test_dark_theme(open_tab: Any, server: LiveServer, lang: str, viewport: dict[str, int]) -> None:
    tab: Tab = open_tab(lang, viewport, theme="dark")
    page = tab.page
    page.emulate_media(color_scheme="dark")
    page.goto(f"{server.url}/login")
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(part) for part in re.findall(r"\d+", background)[:3])
    assert red + green + blue < 120, f"the dark theme is not dark: {background}"
    tab.shot("login")
    page.goto(f"{server.url}/register")
    tab.shot("register")
    email = f"dark-{lang.lower()}-{viewport['width']}@example.com"
    make_user(server, email, lang)
    sign_in_quietly(tab, server, email)
    page.goto(f"{server.url}/account")
    expect(page.locator("#session-list .badge")).to_be_visible()
    tab.shot("account")


@pytest.mark.parametrize(("lang", "viewport"), [LOOKS[0], LOOKS[3]])
def test_dashboard_sign_in(open_tab: Any, server: LiveServer, lang: str, viewport: dict[str, int]) -> None:
    server.call(
        lambda services: create_admin(
            services.store, services.settings, email="root@example.com", password=PASSWORD, now=time.time()
        )
    )
    tab: Tab = open_tab(lang, viewport)
    page = tab.page
    page.goto(f"{server.admin_url}/")
    page.wait_for_url(f"{server.admin_url}/login")
    if lang == "en":  # the admin's own language (zh-CN) would outrank the browser's; the switcher outranks both
        page.goto(f"{server.admin_url}/lang/en?next=/login")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    tab.shot("admin-login")
    page.fill("#login-account", "root@example.com")
    page.fill("#login-password", PASSWORD)
    page.click("#login-form [type=submit]")
    page.wait_for_url(f"{server.admin_url}/")
    nav = page.get_by_role("navigation", name=tab.t("admin.nav"))
    for key in ["users", "plans", "orders", "models", "moderation", "announcements", "settings"]:
        expect(nav.get_by_role("link", name=tab.t(f"admin.nav.{key}"))).to_be_visible()
    nav.get_by_role("link", name=tab.t("admin.nav.models")).click()
    page.wait_for_url(f"{server.admin_url}/models")
    expect(page.get_by_role("heading", level=1)).to_have_text(tab.t("admin.nav.models"))
    tab.shot("admin-dashboard")
    page.get_by_role("button", name=tab.t("nav.sign_out")).click()
    page.wait_for_url(f"{server.admin_url}/login")


def test_api_key_is_shown_once_listed_and_deleted(open_tab: Any, server: LiveServer) -> None:
    tab: Tab = open_tab("zh-CN", PHONE)
    page = tab.page
    make_user(server, "keys@example.com")
    sign_in_quietly(tab, server, "keys@example.com")
    page.goto(f"{server.url}/account#keys")
    expect(page.locator("#key-list")).to_have_text(tab.t("keys.empty"))
    page.fill("#key-name", "我的笔记本")
    page.locator("#key-form [type=submit]").click()
    expect(page.locator("#new-key")).to_be_visible()
    key = page.locator("#new-key-value").input_value()
    assert key.startswith("sk-")
    expect(page.locator("#key-list .item-title")).to_have_text("我的笔记本")
    assert key not in page.locator("#key-list").inner_text(), "the list shows only a prefix"
    tab.shot("account-keys")
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#key-list").get_by_role("button", name=tab.t("common.delete")).click()
    expect(page.locator("#key-list")).to_have_text(tab.t("keys.empty"))
    page.reload()
    expect(page.locator("#new-key")).to_be_hidden()
    expect(page.locator("#key-list")).to_have_text(tab.t("keys.empty"))
