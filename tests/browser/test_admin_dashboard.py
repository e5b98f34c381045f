"""The dashboard in real Chromium against the real apps, the store and loopback fake upstreams: an operator creates a
plan (it is on the pricing page and its limits apply to the next chat request), grants it to a user (their
/api/me shows it), publishes an announcement (the web user sees the modal), adds an upstream key, tests it and
disables the other upstream (chat goes to the new one), blocks the user (their open session is refused at once);
the audit log shows each change and the overview charts draw what those chats produced. Bad input gets a clear
message in the form and changes nothing. Screenshots: tests/browser/test_admin_screenshots.py."""

# The fixtures come from chat_helpers (tests/browser/conftest.py is shared): using them as parameters is the point.
# ruff: noqa: F811

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from admin.messages import CATALOGUE as ADMIN_TEXTS
from core.accounts.registration import create_admin
from tests.browser.chat_helpers import (  # noqa: F401  (fixtures are used by name)
    CHEAP_HASHING,
    LOCALES,
    MODEL,
    PASSWORD,
    ChatTab,
    ScriptedUpstream,
    chat_server,
    open_chat,
    upstream,
)
from tests.browser.conftest import DESKTOP, LiveServer
from tests.fakes.openai_upstream import FakeUpstream

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "ops@example.com"
BACKUP_KEY = "sk-backup-key-0123456789"


@pytest.fixture(scope="module")
def backup(live_server: LiveServer) -> Iterator[FakeUpstream]:
    """A second loopback upstream that only accepts BACKUP_KEY, served on the live server's loop."""
    fake = FakeUpstream(keys={BACKUP_KEY})
    live_server.call(lambda _services: fake.start())
    yield fake
    live_server.call(lambda _services: fake.stop())


class AdminTab:
    """A browser context on the dashboard, signed in through its form; collects console and page errors."""

    def __init__(self, browser: Browser, server: LiveServer, lang: str, viewport: dict[str, int]) -> None:
        self.server = server
        self.lang = lang
        self.context = browser.new_context(locale=LOCALES[lang], viewport=viewport, base_url=server.admin_url)  # type: ignore[arg-type]
        self.page: Page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error"
                     and "Failed to load resource" not in m.text else None)  # fmt: skip

    def t(self, key: str, **params: Any) -> str:
        return ADMIN_TEXTS.text(self.lang, key, **params)

    def sign_in(self) -> None:
        def make(services: Any) -> Any:
            settings = services.settings.model_copy(update=CHEAP_HASHING)
            return create_admin(services.store, settings, email=ADMIN_EMAIL, password=PASSWORD, now=time.time())

        self.server.call(make)
        self.page.goto("/login")
        self.page.fill("#login-account", ADMIN_EMAIL)
        self.page.fill("#login-password", PASSWORD)
        self.page.locator("#login-form button[type=submit]").click()
        expect(self.page.locator("h1.page-title")).to_have_text(self.t("admin.overview.title"))

    def open(self, path: str) -> Page:
        self.page.goto(path)
        return self.page

    def confirm(self) -> None:
        dialog = self.page.locator("#confirm-dialog")
        expect(dialog).to_be_visible()
        dialog.locator("#confirm-ok").click()
        expect(dialog).to_be_hidden()


def me(tab: ChatTab) -> Any:
    return tab.page.request.get(f"{tab.server.url}/api/me")


def models_of(tab: ChatTab) -> dict[str, Any]:
    data = tab.page.request.get(f"{tab.server.url}/api/models").json()
    return {model["id"]: model for model in data["models"]}


def test_an_operator_runs_the_business_from_the_dashboard(
    browser: Browser, open_chat: Any, chat_server: LiveServer, upstream: ScriptedUpstream, backup: FakeUpstream
) -> None:
    web: ChatTab = open_chat("en", DESKTOP)
    web.sign_in("alice@example.com")
    web.send("Hello before the operator starts")
    web.wait_idle()
    admin = AdminTab(browser, chat_server, "en", DESKTOP)
    admin.sign_in()
    page = admin.page

    # --- a plan: bad input is refused in the form, then it is created; the pricing page and the limits follow
    page.goto("/plans")
    expect(page.locator("#plans-table tbody tr")).to_have_count(1)  # free
    page.locator("#plan-new").click()
    page.fill("#plan-name", "gold")
    page.fill("#plan-title", "Gold")
    page.fill("#price-monthly", "-5")
    page.locator("#limit-rows input[data-part=limit]").fill("2")
    page.locator("#limit-rows input[data-part=window]").fill("1h")
    page.locator("#plan-form button[type=submit]").click()
    expect(page.locator("#price-monthly-error")).to_have_text(admin.t("admin.plans.bad_price"))
    page.fill("#price-monthly", "19.9")
    page.locator("#limit-rows input[data-part=window]").fill("3 fortnights")
    page.locator("#plan-form button[type=submit]").click()
    expect(page.locator("#plan-form-status")).to_have_text(admin.t("admin.plans.bad_window"))
    expect(page.locator("#plans-table")).not_to_contain_text("Gold")  # nothing was created
    page.locator("#limit-rows input[data-part=window]").fill("1h")
    expect(page.locator("#plan-preview")).to_contain_text("¥19.90 / month")
    expect(page.locator("#plan-preview")).to_contain_text("2 messages every hour")
    page.locator("#plan-form button[type=submit]").click()
    expect(page.locator("#plans-status")).to_contain_text("Plan gold saved")
    expect(page.locator("#plans-table")).to_contain_text("Gold")
    page.locator("#plan-new").click()  # a duplicate name is refused by the server, next to its field
    page.fill("#plan-name", "gold")
    page.fill("#plan-title", "Gold again")
    page.locator("#plan-form button[type=submit]").click()
    expect(page.locator("#plan-name-error")).to_contain_text("already exists")
    page.locator("#plan-cancel").click()
    web.page.goto(f"{chat_server.url}/pricing")
    expect(web.page.locator("#plan-gold-title")).to_have_text("Gold")

    # --- grant it to the user: /api/me shows it and its limits apply to the next chat request
    page.goto("/users")
    page.fill("#user-q", "alice")
    page.locator("#user-search button[type=submit]").click()
    page.locator("#users-table").get_by_role("link", name="alice@example.com").click()
    expect(page.locator("#user-title")).to_contain_text("alice@example.com")
    page.select_option("#grant-plan", "gold")
    page.fill("#grant-days", "7")
    page.locator("#grant-form button[type=submit]").click()
    expect(page.locator("#grant-status")).to_contain_text("Granted")
    assert me(web).json()["plan"] == "gold" and me(web).json()["plan_expires_at"]
    quota = models_of(web)[MODEL]
    assert (quota["limit"], quota["window"], quota["remaining"]) == (2, "1h", 1)  # the message before counts
    web.open()
    expect(web.page.locator("#model-quota")).to_have_text("1/2")
    web.send("First message on gold")
    web.wait_idle()
    expect(web.page.locator("#model-quota")).to_have_text("0/2")
    expect(web.page.locator("#send-button")).to_be_disabled()  # the page knows: none left
    csrf = me(web).json()["csrf_token"]
    refused = web.page.request.post(
        f"{web.server.url}/api/chat", data={"model": MODEL, "content": "One too many for gold"},
        headers={"X-CSRF-Token": csrf, "Origin": web.server.url},
    )  # fmt: skip
    assert refused.status == 429 and refused.json()["error"]["code"] == "rate_limit_exceeded"

    # --- an edited limit applies to the very next request
    page.goto("/plans")
    page.locator("#plans-table tbody tr", has_text="Gold").get_by_role("button", name=admin.t("admin.edit")).click()
    page.locator("#limit-rows input[data-part=limit]").fill("5")
    page.locator("#plan-form button[type=submit]").click()
    expect(page.locator("#plans-table")).to_contain_text("5 messages every hour")
    assert models_of(web)[MODEL]["remaining"] == 3

    # --- the announcement: preview, publish, the web user sees the modal
    page.goto("/announcements")
    page.fill("#notice-markdown", "# Gold is here\n\nA **new** plan.")
    expect(page.locator("#notice-preview h1")).to_have_text("Gold is here")
    page.locator("#notice-form button[type=submit]").click()
    expect(page.locator("#notice-status")).to_contain_text("Version 1 is published")
    web.open()
    expect(web.page.locator("#notice-dialog")).to_be_visible()
    expect(web.page.locator("#notice-dialog h1")).to_have_text("Gold is here")
    web.page.keyboard.press("Escape")

    # --- a new upstream key: a malformed one is refused, the real one tested, the old upstream disabled
    page.goto("/models")
    page.locator("#upstream-new").click()
    page.fill("#up-id", "backup")
    page.fill("#up-name", "Backup")
    page.fill("#up-base", backup.base_url)
    page.fill("#up-keys", "not a key")
    page.locator("#upstream-form button[type=submit]").click()
    expect(page.locator("#up-keys-error")).to_have_text(admin.t("admin.upstreams.bad_key"))
    page.fill("#up-keys", BACKUP_KEY)
    page.locator("#upstream-form button[type=submit]").click()
    backup_row = page.locator("#upstreams-table tbody tr", has_text="Backup")
    expect(backup_row).to_contain_text("sk-...6789")
    assert BACKUP_KEY not in page.content()  # entered once, masked from then on
    backup_row.get_by_role("button", name=admin.t("admin.upstreams.test")).click()
    expect(page.locator("#test-result")).to_contain_text("Backup answered in")
    page.locator("#models-table tbody tr", has_text=MODEL).get_by_role("button", name=admin.t("admin.edit")).click()
    page.locator("#model-upstreams input[value=backup]").check()
    page.locator("#model-form button[type=submit]").click()
    expect(page.locator("#models-table tbody tr", has_text=MODEL)).to_contain_text("fake, backup")
    model_row = page.locator("#models-table tbody tr", has_text=MODEL)
    model_row.get_by_role("button", name=admin.t("admin.edit")).click()  # what it serves and accepts, kept
    expect(page.locator("#model-serves input[value=chat]")).to_be_checked()
    expect(page.locator("#model-inputs input[value=image]")).not_to_be_checked()
    page.locator("#model-inputs input[value=image]").check()
    page.locator("#model-form button[type=submit]").click()
    expect(page.locator("#model-editor")).to_be_hidden()
    model_row.get_by_role("button", name=admin.t("admin.edit")).click()
    expect(page.locator("#model-inputs input[value=image]")).to_be_checked()
    expect(page.locator("#model-upstreams input[value=backup]")).to_be_checked()
    page.locator("#model-serves input[value=chat]").uncheck()
    page.locator("#model-form button[type=submit]").click()
    expect(page.locator("#model-serves-field-error")).to_have_text(admin.t("admin.models.pick_serves"))
    page.locator("#model-editor button[data-close]").click()
    fake_row = page.locator("#upstreams-table tbody tr", has_text="fake")
    fake_row.get_by_role("button", name=admin.t("admin.upstreams.disable")).click()
    expect(fake_row).to_contain_text(admin.t("admin.disabled"))
    before_old, before_new = len(upstream.chat_requests), len(backup.chat_requests)
    web.open()
    web.send("Which upstream answers now?")
    web.wait_idle()
    assert len(upstream.chat_requests) == before_old and len(backup.chat_requests) == before_new + 1
    assert backup.chat_requests[-1].key == BACKUP_KEY

    # --- block the user: their open session is refused at once
    assert me(web).status == 200
    page.goto("/users")
    page.locator("#users-table").get_by_role("link", name="alice@example.com").click()
    page.locator("#block-toggle").click()
    admin.confirm()
    expect(page.locator("#user-state")).to_have_text(admin.t("admin.users.blocked"))
    assert me(web).status == 401

    # --- the audit log shows each change; filtered by action
    page.goto("/audit")
    table = page.locator("#audit-table")
    for action in ("plan.create", "user.grant", "notice.publish", "upstream.create", "model.update",
                   "upstream.update", "user.block"):  # fmt: skip
        expect(table).to_contain_text(action)
    page.select_option("#audit-action", "upstream.update")
    expect(table.locator("tbody tr")).to_have_count(1)
    table.locator("summary").click()
    expect(table.locator(".change-grid")).to_contain_text('"enabled": false')

    # --- the overview draws what the real chats produced
    dots = page.locator("[data-chart=success] svg.chart-wide circle.dot")
    for _ in range(40):  # usage is settled after each stream, upstream statistics flushed once a second
        page.goto("/")
        if page.locator("#stat-requests").inner_text() == "3" and dots.count():
            break
        page.wait_for_timeout(250)
    expect(page.locator("#stat-requests")).to_have_text("3")
    messages_chart = page.locator("[data-chart=messages] svg.chart-wide")
    expect(messages_chart.locator("rect.bar title").last).to_contain_text(f"{MODEL} · ")
    assert messages_chart.locator("rect.bar").evaluate_all(
        "(bars) => bars.some((bar) => bar.getAttribute('height') !== '0.0')"
    )
    expect(page.locator("#health-table")).to_contain_text("Backup")
    expect(dots.first).to_be_attached()
    admin.context.close()
    assert admin.problems == [], admin.problems
