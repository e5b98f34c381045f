"""Screenshots of every dashboard page at 1440x900 and 390x844, in zh-CN and English, over a store with a few weeks
of a small business in it (users, chats, orders, codes, blocks, an announcement, audit entries); each page is
checked for console errors and for anything sticking out sideways. Saved as
test-output/screenshots/admin-<page>-<lang>-<width>-light.png."""

# The fixtures come from chat_helpers (tests/browser/conftest.py is shared): using them as parameters is the point.
# ruff: noqa: F811

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from core.accounts.channel_identities import bind_identity
from core.accounts.registration import create_admin, register_user
from core.billing.codes_admin import create_batch
from core.billing.orders import create_order
from core.billing.payments import credit_order
from core.billing.plan_admin import create_plan
from core.billing.purchases import Price
from core.billing.redemption import format_code, redeem_code
from core.billing.usage import record_usage
from core.moderation.config import update_moderation
from core.moderation.log import log_block
from core.moderation.verdicts import Verdict
from core.relay.catalogue_admin import update_model
from core.relay.upstream_stats import UpstreamStats
from core.site.audit import Actor
from core.site.config import update_site_config
from core.site.notice import publish_notice
from tests.browser.chat_helpers import (  # noqa: F401  (fixtures are used by name)
    CHEAP_HASHING,
    MODEL,
    OFFENDERS,
    PASSWORD,
    ScriptedUpstream,
    chat_server,
    upstream,
)
from tests.browser.conftest import DESKTOP, PHONE, LiveServer
from tests.browser.test_admin_dashboard import ADMIN_EMAIL, AdminTab

pytestmark = pytest.mark.browser

DAY = 86_400
NAMES = ["王小明", "Li Na", "Emma Chen", "张伟", "Oliver", "陈静", "Sofia", "刘洋", "Noah", "赵敏"]


async def seed_business(services: Any) -> int:
    """A few weeks of a small business; return the id of a user worth looking at."""
    store, now = services.store, time.time()
    settings = services.settings.model_copy(update=CHEAP_HASHING)
    operator = await create_admin(store, settings, email=ADMIN_EMAIL, password=PASSWORD, now=now - 30 * DAY)
    admin = Actor(operator.id, ADMIN_EMAIL)
    users = []
    for index, name in enumerate(NAMES):
        user = await register_user(store, settings, None, email=f"user{index}@example.com", password="pw 12345678",
                                   name=name, now=now - (20 - 2 * index) * DAY)  # fmt: skip
        users.append(user.id)
    await register_user(store, settings, None, phone="13800138000", password="pw 12345678", now=now - DAY,
                        invite_code=(await _invite_code(store, users[0])))  # fmt: skip
    await bind_identity(store, "telegram", "5550001", users[0], now=now)
    for model_id, (input_price, output_price) in {MODEL: (108, 432), "gpt-4o": (1800, 7200)}.items():
        await update_model(store, admin, model_id, {"input_price": input_price, "output_price": output_price}, now)
    for back in range(18):
        for index, user_id in enumerate(users[: 3 + back % 5]):
            model = MODEL if index % 3 else "gpt-4o"
            await record_usage(store, user_id, model, 8000 + 900 * index, 3000 + 400 * back, now - back * DAY)
        stats = UpstreamStats(store, clock=lambda back=back: now - back * DAY)  # type: ignore[misc]
        for attempt in range(8):
            stats.note("fake", ok=attempt != 5 or back % 4 == 0, latency_ms=300 + 20 * (back % 6))
        await stats.close()
    pro = await create_plan(store, admin, {"name": "pro", "title": "Pro", "prices": {"monthly": 2990, "yearly": 29900},
                            "limits": {MODEL: {"limit": 100, "window": "3h"}, "gpt-4o": {"limit": 20, "window": "1d"}},
                            "position": 1}, now)  # fmt: skip
    team = {"name": "team", "title": "Team", "prices": {"monthly": 9900}, "hidden": True, "position": 2,
            "limits": {MODEL: {"limit": 500, "window": "3h"}}}  # fmt: skip
    await create_plan(store, admin, team, now)
    for index, back in enumerate((15, 11, 8, 5, 3, 2, 1, 0)):
        when = now - back * DAY
        order = await create_order(store, users[index % 6], Price(pro, "monthly", 2990, 30 * DAY), wap=index % 2 == 1,
                                   expires_in=7200, now=when)  # fmt: skip
        if index != 7:  # the last one is still waiting to be paid
            fields = {"trade_order_id": order.id, "status": "OD", "total_fee": "29.90"}
            entry = {"at": when, "source": "notify", "ip": "127.0.0.1", "fields": fields}
            await credit_order(store, settings, order, amount=2990, transaction_id=f"42000{index}", open_order_id="",
                               entry=entry, now=when)  # fmt: skip
    batch = await create_batch(store, admin, plan="pro", days=30, reset_chances=None, count=5, expires_at=None,
                               note="Launch week", now=now)  # fmt: skip
    await redeem_code(store, settings, users[4], format_code(batch.codes[0]), now=now)
    await create_batch(store, admin, plan=None, days=None, reset_chances=3, count=20, expires_at=now + 30 * DAY,
                       now=now)  # fmt: skip
    await update_moderation(services.moderation, admin, providers=["keywords"], words=["赌场", "casino"], now=now)
    blocks = [("input", "tencent"), ("output", "keywords"), ("input", "keywords")]  # oldest first
    for index, (direction, provider) in enumerate(blocks):
        verdict = Verdict("block", provider, "keyword" if provider == "keywords" else "Porn", ("赌场",))
        await log_block(store, user_id=str(users[index]), direction=direction, verdict=verdict,  # type: ignore[arg-type]
                        text="一起去赌场玩吧 let's go to the casino", now=now - (2 - index) * 3600,
                        channel=("web", "telegram", "api")[index])  # fmt: skip
    await publish_notice(
        store, admin, "# 新套餐上线\n\nPro 套餐现已开放，**首月**享受优惠。\n\n- 更多消息\n- 更快的模型", now
    )
    await update_site_config(store, settings, admin, {"wechat_oa": "ChatGate助手", "invite_bonus_days": 3}, now)
    return users[0]


async def _invite_code(store: Any, user_id: int) -> str:
    return str(await store.redis.hget(store.keys.user(user_id), "invite_code"))


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_screenshots(
    browser: Browser, chat_server: LiveServer, upstream: ScriptedUpstream, screenshot_dir: Path, lang: str
) -> None:
    user_id = chat_server.call(seed_business)
    for viewport in (DESKTOP, PHONE):
        tab = AdminTab(browser, chat_server, lang, viewport)
        if viewport is DESKTOP:
            tab.page.goto("/login")
            shoot(tab, screenshot_dir, "login", viewport)
        tab.sign_in()
        page = tab.page
        pages = [("overview", "/"), ("users", "/users"), ("user", f"/users/{user_id}"), ("plans", "/plans"),
                 ("orders", "/orders"), ("codes", "/codes"), ("models", "/models"), ("moderation", "/moderation"),
                 ("announcements", "/announcements"), ("settings", "/settings"), ("audit", "/audit")]  # fmt: skip
        ready = {"users": "#users-table tbody tr >> nth=10", "user": "#usage-table tbody tr >> nth=1",
                 "plans": "#plans-table tbody tr >> nth=2", "orders": "#orders-table tbody tr >> nth=7",
                 "codes": "#batches-table tbody tr >> nth=1", "models": "#upstreams-table tbody tr",
                 "moderation": "#log-table tbody tr >> nth=2", "announcements": "#notice-preview h1",
                 "settings": "#secret-list li >> nth=0", "audit": "#audit-table tbody tr >> nth=3"}  # fmt: skip
        for name, path in pages:
            page.goto(path)
            if name in ready:
                expect(page.locator(ready[name])).to_be_visible()
            if name == "audit":  # one entry opened: its before and after
                page.locator("#audit-table summary").first.click()
            shoot(tab, screenshot_dir, name, viewport)
        page.goto("/plans")  # the editor with its pricing-card preview
        page.locator("#plans-table tbody tr", has_text="Pro").get_by_role("button", name=tab.t("admin.edit")).click()
        expect(page.locator("#plan-preview .plan-card-price")).to_contain_text("29.90")
        page.locator("#plan-editor").scroll_into_view_if_needed()
        shoot(tab, screenshot_dir, "plan-editor", viewport, full_page=False)
        page.goto("/models")  # the model editor: what it serves, what it accepts, its upstreams
        page.locator("#models-table tbody tr >> nth=0").get_by_role("button", name=tab.t("admin.edit")).click()
        page.locator("#model-editor").scroll_into_view_if_needed()
        shoot(tab, screenshot_dir, "model-editor", viewport, full_page=False)
        page.goto("/orders")  # one order with its callbacks
        page.locator("#orders-table tbody tr >> nth=1").locator("button").click()
        expect(page.locator("#callbacks-table tbody tr")).to_have_count(1)
        shoot(tab, screenshot_dir, "order", viewport, full_page=False)
        tab.context.close()
        assert tab.problems == [], tab.problems


def shoot(tab: AdminTab, folder: Path, name: str, viewport: dict[str, int], full_page: bool = True) -> None:
    tab.page.wait_for_timeout(150)
    overflow = int(tab.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))
    assert overflow <= 0, f"{name}: {overflow} px too wide: {tab.page.evaluate(OFFENDERS)}"
    path = folder / f"admin-{name}-{tab.lang}-{viewport['width']}-light.png"
    tab.page.screenshot(path=str(path), full_page=full_page)
