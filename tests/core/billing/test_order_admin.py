"""Orders from the dashboard: lists by status, user and day; one order with its callbacks; refunds take back the
unused time once; reconciliation on demand; codes batches with who redeemed what; the revenue ledger follows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from core.accounts.registration import register_user
from core.billing import codes_admin, order_admin
from core.billing.payments import handle_notify, open_order
from core.billing.plans import Limit, Plan, ensure_free_plan, save_plan
from core.billing.redemption import redeem_code
from core.billing.subscriptions import current_plan, list_subscriptions
from core.errors import InvalidInput, InvalidRedemptionCode, NotFound
from core.settings import Settings
from core.site.audit import Actor, list_audit
from core.site.revenue import revenue_by_day
from core.store.connection import Store
from tests.fakes.xunhupay import XunhuPayFake

NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC
DAY = 86_400
ADMIN = Actor(1, "root@example.com")


@pytest.fixture
async def shop(store: Store, settings: Settings) -> AsyncIterator[tuple[Settings, XunhuPayFake, httpx.AsyncClient]]:
    await ensure_free_plan(store, ["m"])
    await save_plan(store, Plan("pro", "Pro", {"monthly": 2900}, {"m": Limit(50, "3h")}))
    for email in ("a@example.com", "b@example.com"):
        await register_user(store, settings, None, email=email, password="pw12345678", now=NOW)
    async with XunhuPayFake() as gateway, httpx.AsyncClient() as http:
        yield settings.model_copy(update=gateway.settings_update()), gateway, http


async def paid_order(store: Store, settings: Settings, gateway: XunhuPayFake, http: httpx.AsyncClient, user: int,
                     now: float = NOW) -> str:  # fmt: skip
    order = await open_order(store, settings, http, user, "pro", "monthly", wap=False, lang="en", now=now)
    credit = await handle_notify(store, settings, gateway.notify_fields(order.id), ip="127.0.0.1", now=now)
    assert credit.verdict == "credited"
    return order.id


async def test_lists_detail_and_refund(store: Store, shop: tuple[Settings, XunhuPayFake, httpx.AsyncClient]) -> None:
    settings, gateway, http = shop
    first = await paid_order(store, settings, gateway, http, 1)
    pending = await open_order(store, settings, http, 2, "pro", "monthly", wap=True, lang="en", now=NOW + 60)
    second = await paid_order(store, settings, gateway, http, 1, NOW + DAY)
    everything = await order_admin.list_orders_page(store)
    assert [o.id for o in everything.orders] == [second, pending.id, first]
    assert [o.id for o in (await order_admin.list_orders_page(store, status="pending")).orders] == [pending.id]
    assert [o.id for o in (await order_admin.list_orders_page(store, user_id=1)).orders] == [second, first]
    day = await order_admin.list_orders_page(store, start="2027-01-15", end="2027-01-15")
    assert [o.id for o in day.orders] == [pending.id, first]
    paged = await order_admin.list_orders_page(store, limit=2)
    rest = await order_admin.list_orders_page(store, limit=2, cursor=paged.next_cursor)
    assert [o.id for o in paged.orders + rest.orders] == [second, pending.id, first] and rest.next_cursor is None
    detail = await order_admin.order_detail(store, first)
    assert detail["status"] == "paid" and [c["verdict"] for c in detail["callbacks"]] == ["credited"]
    assert detail["callbacks"][0]["fields"]["trade_order_id"] == first

    # Two paid months stack: refunding the second takes back its 30 days, once.
    ends_before = max(sub.ends_at for sub in await list_subscriptions(store, 1))
    result = await order_admin.refund_order(store, ADMIN, second, NOW + DAY)
    assert result["verdict"] == "refunded" and result["seconds_taken_back"] == 30 * DAY
    assert max(sub.ends_at for sub in await list_subscriptions(store, 1)) == ends_before - 30 * DAY
    again = await order_admin.refund_order(store, ADMIN, second, NOW + DAY)
    assert again["verdict"] == "already_refunded" and again["seconds_taken_back"] == 0
    assert [c["verdict"] for c in again["order"]["callbacks"]] == ["credited", "refunded"]
    # The first one, half used: only its unused part goes back; the user is on free from now.
    result = await order_admin.refund_order(store, ADMIN, first, NOW + 15 * DAY)
    assert result["seconds_taken_back"] == 15 * DAY
    assert (await current_plan(store, 1, NOW + 15 * DAY + 1)).name == "free"
    with pytest.raises(InvalidInput):
        await order_admin.refund_order(store, ADMIN, pending.id, NOW)
    with pytest.raises(NotFound):
        await order_admin.order_detail(store, "NOSUCHORDER")
    # Revenue is net of refunds on the day of each: paid on the 15th and 16th, refunded on the 16th and 30th.
    revenue = await revenue_by_day(store, ["2027-01-15", "2027-01-16", "2027-01-30"])
    assert revenue == {"2027-01-15": (2900, 1), "2027-01-16": (0, 1), "2027-01-30": (-2900, 0)}
    assert [e.action for e in (await list_audit(store)).entries] == ["order.refund", "order.refund"]


async def test_reconcile_now_credits_a_lost_notify(
    store: Store, shop: tuple[Settings, XunhuPayFake, httpx.AsyncClient]
) -> None:
    settings, gateway, http = shop
    order = await open_order(store, settings, http, 2, "pro", "monthly", wap=False, lang="en", now=NOW)
    await gateway.pay(order.id, notify=False)
    done = await order_admin.reconcile_now(store, settings, http, ADMIN, NOW + 5)
    assert done["credited"] == [order.id]
    assert (await current_plan(store, 2, NOW + 10)).name == "pro"
    [entry] = (await list_audit(store, action="order.reconcile")).entries
    assert entry.after["credited"] == [order.id]


async def test_code_batches(store: Store, shop: tuple[Settings, XunhuPayFake, httpx.AsyncClient]) -> None:
    settings, _, _ = shop
    batch = await codes_admin.create_batch(store, ADMIN, plan="pro", days=7, reset_chances=None, count=3,
                                           expires_at="2027-02-01", note="launch", now=NOW)  # fmt: skip
    codes = codes_admin.codes_of(batch)
    assert len(codes) == 3 and batch.expires_at == 1_801_440_000
    await redeem_code(store, settings, 2, codes[1], now=NOW)
    view, statuses = await codes_admin.batch_detail(store, batch.id)
    assert view.used == 1 and [s.status for s in statuses] == ["new", "used", "new"] and statuses[1].used_by == 2
    assert await codes_admin.disable_batch_audited(store, ADMIN, batch.id, NOW) == 2
    with pytest.raises(InvalidRedemptionCode):
        await redeem_code(store, settings, 1, codes[0], now=NOW)
    listed = await codes_admin.batches(store)
    assert listed[0].disabled and listed[0].used == 1
    audit = str([entry.public() for entry in (await list_audit(store)).entries])
    assert "codes.create" in audit and "codes.disable" in audit and all(code not in audit for code in codes)
    for bad in ({"plan": "pro", "days": 0}, {"plan": None, "days": None}, {"plan": "pro", "days": 7, "count": 0},
                {"plan": "pro", "days": 7, "expires_at": "soon"}):  # fmt: skip
        args = {"plan": None, "days": None, "reset_chances": None, "count": 2, **bad}
        with pytest.raises((InvalidInput, NotFound)):
            await codes_admin.create_batch(store, ADMIN, now=NOW, **args)  # type: ignore[arg-type]
    assert len(await codes_admin.batches(store)) == 1
    with pytest.raises(NotFound):
        await codes_admin.batch_detail(store, "nope")


async def test_revenue_reaches_the_ledger_once(
    store: Store, shop: tuple[Settings, XunhuPayFake, httpx.AsyncClient]
) -> None:
    settings, gateway, http = shop
    order = await open_order(store, settings, http, 1, "pro", "monthly", wap=False, lang="en", now=NOW)
    fields = gateway.notify_fields(order.id)
    await asyncio.gather(*(handle_notify(store, settings, fields, ip="127.0.0.1", now=NOW) for _ in range(20)))
    assert await revenue_by_day(store, ["2027-01-15"]) == {"2027-01-15": (2900, 1)}
