"""The Orders API, the notify endpoint, redemption and the subscription timeline over HTTP, against the real store
and the loopback XunhuPay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from quart import Quart

from core.accounts.api_keys import create_api_key
from core.billing.plans import Limit, Plan, ensure_free_plan, save_plan
from core.billing.redemption import generate_codes
from core.billing.subscriptions import list_subscriptions
from core.store.connection import Store
from tests.fakes.xunhupay import XunhuPayFake
from tests.webui.conftest import AuthActions, MakeApp

PHONE_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
DESKTOP_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"


@pytest.fixture
async def gateway() -> AsyncIterator[XunhuPayFake]:
    async with XunhuPayFake() as fake:
        yield fake


@pytest.fixture
async def shop_app(make_app: MakeApp, store: Store, gateway: XunhuPayFake) -> Quart:
    await ensure_free_plan(store, ["gpt-4o-mini"])
    await save_plan(store, Plan("pro", "Pro", {"monthly": 2900, "yearly": 29900}, {"gpt-4o-mini": Limit(50, "3h")}))
    return await make_app(**gateway.settings_update())


async def signed_in(app: Quart, email: str = "buyer@example.com") -> AuthActions:
    auth = AuthActions(app.test_client())
    await auth.register(email)
    return auth


async def order(auth: AuthActions, body: dict[str, Any], agent: str = DESKTOP_AGENT) -> tuple[int, dict[str, Any]]:
    response = await auth.client.post("/api/orders", json=body, headers={**auth.headers, "User-Agent": agent})
    return response.status_code, await response.get_json()


async def test_create_list_read_and_qr(shop_app: Quart, gateway: XunhuPayFake) -> None:
    auth = await signed_in(shop_app)
    status, created = await order(auth, {"plan": "pro", "cycle": "monthly"})
    assert status == 201
    assert {"order_id", "amount", "status", "pay_url", "qr_url"} <= set(created)
    assert (created["amount"], created["status"], created["wap"]) == (2900, "pending", False)
    assert len(created["order_id"]) <= 32 and "type" not in gateway.created[-1]
    status, phone = await order(auth, {"plan": "pro", "cycle": "yearly"}, PHONE_AGENT)
    assert (status, phone["wap"], phone["amount"]) == (201, True, 29900) and gateway.created[-1]["type"] == "WAP"
    listed = await (await auth.client.get("/api/orders")).get_json()
    assert [o["order_id"] for o in listed["orders"]] == [phone["order_id"], created["order_id"]]  # newest first
    read = await auth.client.get(f"/api/orders/{created['order_id']}")
    assert (read.status_code, (await read.get_json())["status"]) == (200, "pending")
    qr = await auth.client.get(f"/api/orders/{created['order_id']}/qr")
    assert qr.status_code == 200 and qr.content_type == "image/png" and (await qr.get_data()).startswith(b"\x89PNG")


async def test_an_order_is_its_owners_only(shop_app: Quart, store: Store) -> None:
    owner = await signed_in(shop_app)
    _, created = await order(owner, {"plan": "pro", "cycle": "monthly"})
    stranger = await signed_in(shop_app, "stranger@example.com")
    for path in (f"/api/orders/{created['order_id']}", f"/api/orders/{created['order_id']}/qr"):
        response = await stranger.client.get(path)
        assert response.status_code == 404
    assert (await (await stranger.client.get("/api/orders")).get_json())["orders"] == []
    assert (await shop_app.test_client().get(f"/api/orders/{created['order_id']}")).status_code == 401
    _meta, key = await create_api_key(store, owner.user["id"], "laptop", 0)
    by_key = await shop_app.test_client().post("/api/orders", json={"plan": "pro", "cycle": "monthly"},
                                               headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    assert by_key.status_code == 403


async def test_bad_choices_get_clear_errors_and_write_nothing(shop_app: Quart, store: Store) -> None:
    auth = await signed_in(shop_app)
    cases = [({"plan": "nope", "cycle": "monthly"}, "invalid_input", "plan"),
             ({"plan": "pro", "cycle": "weekly"}, "invalid_input", "cycle"),
             ({"plan": "pro", "cycle": "quarterly"}, "plan_not_for_sale", "cycle"),
             ({"plan": "free", "cycle": "monthly"}, "plan_not_for_sale", "plan"),
             ({"plan": "pro"}, "invalid_input", "cycle"),
             ({"plan": "pro", "cycle": "monthly", "amount": 1}, "invalid_input", "amount")]  # fmt: skip
    for body, code, field in cases:
        status, data = await order(auth, body)
        assert (status, data["error"]["code"], data["error"]["field"]) == (400, code, field), body
    assert await store.redis.zcard(store.keys.orders_index()) == 0


async def test_without_xunhupay_settings_orders_answer_503(make_app: MakeApp, store: Store) -> None:
    await ensure_free_plan(store, ["gpt-4o-mini"])
    await save_plan(store, Plan("pro", "Pro", {"monthly": 2900}, {}))
    app = await make_app()
    auth = await signed_in(app)
    status, data = await order(auth, {"plan": "pro", "cycle": "monthly"})
    assert (status, data["error"]["code"]) == (503, "payments_disabled")
    notify = await app.test_client().post("/api/pay/xunhu/notify", form={"trade_order_id": "X"})
    assert (notify.status_code, await notify.get_data(as_text=True)) == (503, "fail")


async def test_notify_answers_success_once_credited_and_fail_otherwise(
    shop_app: Quart, gateway: XunhuPayFake, store: Store
) -> None:
    auth = await signed_in(shop_app)
    _, created = await order(auth, {"plan": "pro", "cycle": "monthly"})
    client = shop_app.test_client()
    forged = {**gateway.notify_fields(created["order_id"]), "hash": "f" * 32}
    for fields in (forged, gateway.notify_fields(created["order_id"], status="WP"), {"nonsense": "1"}):
        response = await client.post("/api/pay/xunhu/notify", form=fields)
        assert (response.status_code, await response.get_data(as_text=True)) == (400, "fail")
    garbage = await client.post("/api/pay/xunhu/notify", data=b"\x00\xff not a form",
                                headers={"Content-Type": "application/json"})  # fmt: skip
    assert garbage.status_code == 400
    assert await list_subscriptions(store, auth.user["id"]) == []
    for _ in range(3):  # XunhuPay retries until it reads `success`
        response = await client.post("/api/pay/xunhu/notify", form=gateway.notify_fields(created["order_id"]))
        assert (response.status_code, await response.get_data(as_text=True)) == (200, "success")
    assert len(await list_subscriptions(store, auth.user["id"])) == 1
    paid = await (await auth.client.get(f"/api/orders/{created['order_id']}")).get_json()
    assert paid["status"] == "paid" and paid["current"]["plan"] == "pro"
    assert paid["current"]["plan_expires_at"].endswith("Z")
    me = await auth.me()
    assert me is not None and (me["plan"], me["plan_expires_at"]) == ("pro", paid["current"]["plan_expires_at"])


async def test_redeem_over_http_and_the_timeline(shop_app: Quart, store: Store) -> None:
    auth = await signed_in(shop_app)
    code = (await generate_codes(store, plan="pro", days=30, count=1, now=0)).codes[0]
    redeemed = await auth.client.post("/api/redeem", json={"code": code}, headers=auth.headers)
    data = await redeemed.get_json()
    assert redeemed.status_code == 200, data
    assert (data["kind"], data["plan"], data["days"], data["current_plan"]) == ("plan", "pro", 30, "pro")
    assert data["plan_expires_at"].endswith("Z")
    for body, status, code_name in (({"code": code}, 400, "invalid_redemption_code"),
                                    ({"code": "short"}, 400, "invalid_input"), ({}, 400, "invalid_input")):  # fmt: skip
        again = await auth.client.post("/api/redeem", json=body, headers=auth.headers)
        assert (again.status_code, (await again.get_json())["error"]["code"]) == (status, code_name)
    history = await (await auth.client.get("/api/redemptions")).get_json()
    assert [(r["plan"], r["days"], r["code_hint"]) for r in history["redemptions"]] == [("pro", 30, f"…{code[-4:]}")]
    timeline = await (await auth.client.get("/api/subscriptions")).get_json()
    assert timeline["plan"] == "pro" and timeline["subscriptions"][0]["source"] == "code"
    no_csrf = await auth.client.post("/api/redeem", json={"code": code})
    assert no_csrf.status_code == 403
