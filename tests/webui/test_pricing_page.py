"""The pricing page and the return page: plans from the store with limits in words, prices in yuan, the user's plan
and end date, a preview per buy button, sign-in for visitors, and the notice when payments are not set up."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import pytest
from quart import Quart

from core.billing.plans import Limit, Plan, ensure_free_plan, save_plan
from core.billing.purchases import grant_time
from core.relay.catalogue import Model, Upstream, save_model
from core.store.connection import Store
from tests.fakes.xunhupay import XunhuPayFake
from tests.webui.conftest import AuthActions, MakeApp

EN = {"Cookie": "cg_lang=en"}
ZH = {"Cookie": "cg_lang=zh-CN"}


@pytest.fixture
async def gateway() -> AsyncIterator[XunhuPayFake]:
    async with XunhuPayFake() as fake:
        yield fake


@pytest.fixture
async def catalogue(store: Store) -> Store:
    upstream = Upstream(id="u", base_url="http://127.0.0.1:9/v1", keys=["k"])
    await save_model(store, Model(id="gpt-4o-mini", name="GPT-4o mini", context_window=128_000, upstreams=[upstream]))
    await save_model(store, Model(id="gpt-4o", name="GPT-4o", context_window=128_000, upstreams=[upstream]))
    await ensure_free_plan(store, ["gpt-4o-mini", "gpt-4o"])
    await save_plan(store, Plan("pro", "Pro", {"monthly": 2900, "yearly": 29900},
                                {"gpt-4o-mini": Limit(50, "3h"), "gpt-4o": Limit(1, "1d")}, daily_tokens=200_000,
                                description="For everyday work"))  # fmt: skip
    await save_plan(store, Plan("max", "Max", {"monthly": 9990}, {"gpt-4o": Limit(500, "90m")}))
    return store


async def page(app: Quart, path: str = "/pricing", headers: dict[str, str] | None = None,
               client: object = None) -> str:  # fmt: skip
    response = await (client or app.test_client()).get(path, headers=headers or EN)  # type: ignore[attr-defined]
    assert response.status_code == 200
    return str(await response.get_data(as_text=True))


async def test_visitors_see_the_plans_in_words_and_buttons_to_sign_in(
    make_app: MakeApp, catalogue: Store, gateway: XunhuPayFake
) -> None:
    app = await make_app(**gateway.settings_update())
    html = await page(app)
    for text in ("Pro", "Max", "For everyday work", "GPT-4o mini", "50 messages every 3 hours", "1 message every day",
                 "500 messages every 90 minutes", "Up to 200,000 tokens a day", "¥29", "¥299", "¥99.90",
                 "/ 30 days", "/ 365 days", "How renewals and upgrades work"):  # fmt: skip
        assert text in html, text
    assert html.count('href="/login?next=%2Fpricing">Sign in to buy</a>') == 3  # one per cycle on sale
    assert "data-buy" not in html and "payments-disabled" not in html
    zh = await page(app, headers=ZH)
    assert "每 3 小时 50 条消息" in zh and "每天 1 条消息" in zh and "月付" in zh


async def test_signed_in_users_see_their_plan_and_what_each_purchase_gives(
    make_app: MakeApp, catalogue: Store, gateway: XunhuPayFake
) -> None:
    app = await make_app(**gateway.settings_update())
    auth = AuthActions(app.test_client())
    await auth.register("buyer@example.com")
    html = await page(app, client=auth.client)
    assert 'id="plan-free"' in html and re.search(r'plan-card is-current" id="plan-free"', html)
    assert re.search(r"You get: Pro until \d{4}-\d{2}-\d{2}", html)
    assert html.count("data-buy") == 3
    now = time.time()
    granted = await grant_time(catalogue, app.extensions["services"].settings, auth.user["id"], "pro", 30 * 86_400,
                               fen=2900, order_id="o1", source="order", now=now)  # fmt: skip
    html = await page(app, client=auth.client)
    until = time.strftime("%Y-%m-%d", time.gmtime(granted.subscription.ends_at))
    assert f"Your plan: Pro, until {until}" in html
    assert re.search(r'plan-card is-current" id="plan-pro"', html)
    assert "You get: Pro extended until" in html and ">Renew<" in html
    assert "Upgrade now: Max until" in html and ">Upgrade<" in html


async def test_without_payments_the_page_says_so(make_app: MakeApp, catalogue: Store) -> None:
    app = await make_app()
    assert "Online payment is not set up" in await page(app)
    auth = AuthActions(app.test_client())
    await auth.register("buyer@example.com")
    html = await page(app, client=auth.client)
    assert 'id="payments-disabled"' in html and html.count("data-buy") == 3 and html.count(" disabled>") == 3


async def test_the_return_page_needs_the_owner_signed_in(make_app: MakeApp) -> None:
    app = await make_app()
    response = await app.test_client().get("/pay/return?order=20260101000000ABCDEFGHJK")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fpay%2Freturn%3Forder%3D20260101000000ABCDEFGHJK"
    auth = AuthActions(app.test_client())
    await auth.register("payer@example.com")
    html = await page(app, "/pay/return?order=20260101000000ABCDEFGHJK", client=auth.client)
    assert 'data-order-id="20260101000000ABCDEFGHJK"' in html
