"""Buying a plan in real Chromium against the real app, the loopback XunhuPay and the fake upstream: choose a plan,
see the QR code (desktop) or go to the gateway's page (phone), the fake pays and calls back, the page says it is
paid and what the account has now, and the new limits apply to the very next chat message. Screenshots of the
pricing, paying, return and account pages in both languages at desktop and phone widths (test-output/screenshots)."""

# The fixtures come from chat_helpers (tests/browser/conftest.py is shared): using them as parameters is the point.
# ruff: noqa: F811

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from core.billing.orders import list_orders
from core.billing.plans import Limit, Plan, save_plan
from core.billing.redemption import generate_codes
from tests.browser.chat_helpers import (  # noqa: F401  (fixtures are used by name)
    MODEL,
    ChatTab,
    ScriptedUpstream,
    chat_server,
    open_chat,
    seed_models,
    upstream,
)
from tests.browser.conftest import DESKTOP, PHONE, LiveServer
from tests.fakes.xunhupay import XunhuPayFake

pytestmark = pytest.mark.browser

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.0 Mobile/15E148 Safari/604.1")  # fmt: skip
PAID = re.compile(r"(Paid! You now have Pro until|支付成功！你现在的套餐：Pro，有效期至) \d{4}-\d{2}-\d{2}")


@pytest.fixture(scope="module")
def gateway(live_server: LiveServer) -> Iterator[XunhuPayFake]:
    """The fake XunhuPay, served on the live server's loop (its notify calls the live server)."""
    fake = XunhuPayFake()
    live_server.call(lambda _services: fake.start())
    yield fake
    live_server.call(lambda _services: fake.stop())


@pytest.fixture
def shop(chat_server: LiveServer, upstream: ScriptedUpstream, gateway: XunhuPayFake) -> Iterator[LiveServer]:
    """The live server with payments set up, free = 1 message per 3 h, pro = 50 per 3 h for 29 yuan a month."""
    services = chat_server.services
    assert services is not None
    plain = services.settings
    services.settings = plain.model_copy(update=gateway.settings_update())  # handlers read settings per request
    gateway.payments.clear()
    seed_models(chat_server, upstream, limits={MODEL: (1, "3h")})
    pro = Plan("pro", "Pro", {"monthly": 2900, "yearly": 29900}, {MODEL: Limit(50, "3h")},
               description="For daily work")  # fmt: skip
    chat_server.call(lambda svc: save_plan(svc.store, pro))
    try:
        yield chat_server
    finally:
        services.settings = plain


def order_id_of(server: LiveServer, user_id: int) -> str:
    orders = server.call(lambda svc: list_orders(svc.store, user_id))
    return str(orders[0].id)


def use_the_free_message(tab: ChatTab) -> None:
    """Spend the one free message, and see the next one refused with the link to the pricing page."""
    tab.send("first")
    tab.wait_idle()
    tab.send("second")
    expect(tab.page.locator(".alert-card .alert-title")).to_have_text(tab.t("chat.err.quota_title"))


def next_message_is_answered(tab: ChatTab) -> None:
    """The very next chat message after paying goes through on the new plan's limits."""
    tab.open()
    expect(tab.page.locator("#model-plan")).to_have_text(tab.t("chat.plan", plan="Pro"))
    expect(tab.page.locator("#model-quota")).to_have_text("49/50")  # the free message counts in the window
    tab.send("third")
    tab.wait_idle()
    expect(tab.questions).to_have_text(["third"])  # a new conversation: the one message, answered
    expect(tab.answers).to_have_count(1)
    expect(tab.page.locator(".alert-card")).to_have_count(0)
    expect(tab.page.locator("#model-quota")).to_have_text("48/50")


def test_desktop_pays_by_qr_code_and_the_next_message_is_on_the_new_plan(
    open_chat: Any, shop: LiveServer, gateway: XunhuPayFake
) -> None:
    tab: ChatTab = open_chat("en", DESKTOP)
    page = tab.page
    user = tab.sign_in("desktop-buyer@example.com")
    use_the_free_message(tab)
    page.locator(".alert-card").get_by_role("link", name=tab.t("chat.err.see_plans")).click()
    expect(page).to_have_url(re.compile(r"/pricing$"))
    offer = page.locator("#plan-pro [data-cycle=monthly]")
    expect(offer.locator(".offer-preview")).to_have_text(re.compile(r"You get: Pro until \d{4}-\d{2}-\d{2}"))
    expect(page.locator("#plan-free")).to_have_class(re.compile("is-current"))
    tab.shot("pricing")
    offer.get_by_role("button", name="Buy").click()
    dialog = page.locator("#pay-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#pay-summary")).to_have_text("Pro · Monthly: ¥29 to pay")
    qr = page.locator("#pay-qr")
    expect(qr).to_be_visible()
    page.wait_for_function("() => document.getElementById('pay-qr').naturalWidth > 0")  # the QR image loaded
    expect(page.locator("#pay-status")).to_have_text(tab.t("pay.waiting"))
    tab.shot("pay-qr")
    order_id = order_id_of(shop, user.id)
    assert gateway.payments[order_id]["form"].get("type") is None  # desktop: a QR payment, not WAP
    status, body = shop.call(lambda _svc: gateway.pay(order_id))  # the payer scans and pays; XunhuPay calls back
    assert (status, body) == (200, "success")
    expect(page.locator("#pay-status")).to_have_text(PAID, timeout=10_000)
    expect(qr).to_be_hidden()
    tab.shot("pay-paid")
    page.locator("#pay-close").click()
    expect(page.locator("#plan-pro")).to_have_class(re.compile("is-current"))
    expect(page.locator("#your-plan")).to_contain_text("Your plan: Pro, until")
    next_message_is_answered(tab)


def test_phone_goes_to_the_gateway_and_returns_to_a_paid_order(
    browser: Any, open_chat: Any, shop: LiveServer, gateway: XunhuPayFake
) -> None:
    tab: ChatTab = open_chat("zh-CN", PHONE)
    tab.context.close()  # a phone: its own context with a phone's user agent and touch
    tab.context = browser.new_context(locale="zh-CN", viewport=PHONE, user_agent=IPHONE, is_mobile=True,
                                      has_touch=True)  # fmt: skip
    tab.page = tab.context.new_page()
    page = tab.page
    user = tab.sign_in("phone-buyer@example.com")
    use_the_free_message(tab)
    page.goto(f"{shop.url}/pricing")
    tab.shot("pricing")
    page.locator("#plan-pro [data-cycle=monthly]").get_by_role("button", name="购买").click()
    expect(page).to_have_url(re.compile(re.escape(gateway.url) + r"/pay\?id="))  # the gateway's cashier page
    order_id = order_id_of(shop, user.id)
    assert gateway.payments[order_id]["form"]["type"] == "WAP"
    page.locator("#pay").click()  # pays there; XunhuPay calls back and sends the payer back to us
    expect(page).to_have_url(f"{shop.url}/pay/return?order={order_id}")
    expect(page.locator("#pay-status")).to_have_text(PAID, timeout=10_000)
    expect(page.locator("#pay-done")).to_be_visible()
    tab.shot("pay-return")
    next_message_is_answered(tab)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_pricing_and_account_billing_look_right(
    open_chat: Any, shop: LiveServer, lang: str, viewport: dict[str, int]
) -> None:
    tab: ChatTab = open_chat(lang, viewport)
    page = tab.page
    user = tab.sign_in(f"looker-{lang}-{viewport['width']}@example.com")
    code = shop.call(lambda svc: generate_codes(svc.store, plan="pro", days=30, count=1, now=time.time())).codes[0]
    page.goto(f"{shop.url}/account#redeem")
    page.locator("#redeem-code").fill(code.lower())
    page.locator("#redeem-form").get_by_role("button").click()
    expect(page.locator("#redeem-status")).to_contain_text(re.compile(r"Pro|pro"))
    expect(page.locator("#plan-name")).to_have_text("Pro")
    expect(page.locator("#timeline-table tbody tr")).to_have_count(1)
    expect(page.locator("#redemption-list li")).to_have_count(1)
    page.locator("#redeem-code").fill("ABCD-EFGH-JKMN-PQRS")
    page.locator("#redeem-form").get_by_role("button").click()
    expect(page.locator("#redeem-code-error")).to_have_text(tab.t("error.invalid_redemption_code"))
    page.locator("#redeem").scroll_into_view_if_needed()
    tab.shot("account-redeem")
    page.locator("#plan").scroll_into_view_if_needed()
    tab.shot("account-billing")
    page.goto(f"{shop.url}/pricing")
    expect(page.locator("#plan-pro")).to_have_class(re.compile("is-current"))
    expect(page.locator("#plan-pro [data-cycle=monthly] .offer-preview")).to_contain_text("Pro")
    tab.shot("pricing-subscribed")
    assert user.id > 0
