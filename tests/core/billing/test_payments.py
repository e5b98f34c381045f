"""Orders and payments against the loopback XunhuPay: one credit per paid order however many callbacks arrive,
nothing for forged / wrong / unpaid / unknown callbacks, reconciliation of lost notifies, expiry of unpaid orders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from core.accounts.registration import register_user
from core.billing.orders import find_order, list_orders, order_callbacks, unmatched_callbacks
from core.billing.payments import handle_notify, open_order
from core.billing.plans import Limit, Plan, ensure_free_plan, save_plan
from core.billing.reconcile import reconcile_orders
from core.billing.subscriptions import current_plan, list_subscriptions
from core.errors import InvalidInput, PaymentFailed, PaymentsDisabled, PlanNotForSale
from core.settings import Settings
from core.store.connection import Store
from tests.conftest import connect_test_store
from tests.fakes.xunhupay import XunhuPayFake

NOW = 1_800_000_000.0
DAY = 86_400


@pytest.fixture
async def gateway() -> AsyncIterator[XunhuPayFake]:
    async with XunhuPayFake() as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def shop(store: Store, settings: Settings, gateway: XunhuPayFake) -> Settings:
    """Plans on sale, one customer (#1), and settings pointing at the fake gateway."""
    await ensure_free_plan(store, ["gpt-4o-mini"])
    await save_plan(store, Plan("pro", "Pro", {"monthly": 2900, "yearly": 29900}, {"gpt-4o": Limit(50, "3h")}))
    await save_plan(store, Plan("max", "Max", {"monthly": 9900}, {"gpt-4o": Limit(500, "3h")}))
    await register_user(store, settings, None, email="buyer@example.com", password="pw12345678", now=NOW)
    return settings.model_copy(update=gateway.settings_update())


async def buy(store: Store, settings: Settings, http: httpx.AsyncClient, plan: str = "pro", now: float = NOW):  # type: ignore[no-untyped-def]
    return await open_order(store, settings, http, 1, plan, "monthly", wap=False, lang="en", now=now)


async def test_an_order_takes_its_amount_from_the_plan_and_gets_its_payment(
    store: Store, shop: Settings, http: httpx.AsyncClient, gateway: XunhuPayFake
) -> None:
    order = await buy(store, shop, http)
    assert (order.amount, order.status, order.plan, order.cycle, order.seconds) == (2900, "pending", "pro",
                                                                                    "monthly", 30 * DAY)  # fmt: skip
    assert len(order.id) <= 32 and order.pay_url and order.qr_url
    assert gateway.created[0]["total_fee"] == "29.00" and gateway.created[0]["trade_order_id"] == order.id
    assert [o.id for o in await list_orders(store, 1)] == [order.id]
    await save_plan(store, Plan("pro", "Pro", {"monthly": 3900}, {}))  # a later price change leaves it alone
    assert (await find_order(store, order.id)).amount == 2900  # type: ignore[union-attr]


async def test_bad_choices_and_disabled_payments_write_no_order(
    store: Store, settings: Settings, shop: Settings, http: httpx.AsyncClient, gateway: XunhuPayFake
) -> None:
    cases = [("nope", "monthly", InvalidInput), ("pro", "weekly", InvalidInput), ("max", "yearly", PlanNotForSale),
             ("free", "monthly", PlanNotForSale)]  # fmt: skip
    for plan, cycle, error in cases:
        with pytest.raises(error):
            await open_order(store, shop, http, 1, plan, cycle, wap=False, lang="en", now=NOW)
    with pytest.raises(PaymentsDisabled):
        await open_order(store, settings, http, 1, "pro", "monthly", wap=False, lang="en", now=NOW)
    assert await store.redis.zcard(store.keys.orders_index()) == 0 and gateway.created == []
    gateway.refuse_next_create(40003, "invalid field length")
    with pytest.raises(PaymentFailed):
        await buy(store, shop, http)
    (failed,) = await list_orders(store, 1)
    assert (failed.status, failed.error) == ("failed", "invalid field length")
    assert await store.redis.zcard(store.keys.pending_orders()) == 0


async def test_a_paid_notify_credits_once_and_replays_answer_success(
    store: Store, shop: Settings, http: httpx.AsyncClient, gateway: XunhuPayFake
) -> None:
    order = await buy(store, shop, http)
    fields = gateway.notify_fields(order.id)
    first = await handle_notify(store, shop, fields, ip="203.0.113.5", now=NOW + 60)
    assert (first.verdict, first.ok) == ("credited", True)
    assert first.order is not None and first.order.status == "paid" and first.order.settled
    again = await handle_notify(store, shop, fields, ip="203.0.113.5", now=NOW + 90)
    assert (again.verdict, again.ok) == ("already_credited", True)
    (sub,) = await list_subscriptions(store, 1)
    assert (sub.plan, sub.starts_at, sub.ends_at, sub.order_id) == ("pro", NOW + 60, NOW + 60 + 30 * DAY, order.id)
    log = await order_callbacks(store, first.order)
    assert [entry["verdict"] for entry in log] == ["credited", "already_credited"]
    assert log[0]["ip"] == "203.0.113.5" and log[0]["fields"]["trade_order_id"] == order.id
    assert await store.redis.zcard(store.keys.pending_orders()) == 0


async def test_one_notify_delivered_100_times_concurrently_over_two_connections_credits_once(
    store: Store, store_url: str, shop: Settings, http: httpx.AsyncClient, gateway: XunhuPayFake
) -> None:
    order = await buy(store, shop, http)
    fields = gateway.notify_fields(order.id)
    other = connect_test_store(store_url)  # a second process's client, opened as build_services opens one:
    await other.redis.ping()  # by one first call (redis-py's cluster client must not be initialized by 100 at once)
    try:
        results = await asyncio.gather(
            *(handle_notify(store if index % 2 else other, shop, fields, ip="x", now=NOW + 60) for index in range(100))
        )
    finally:
        await other.close()
    assert sorted({r.verdict for r in results}) == ["already_credited", "credited"]
    assert sum(r.verdict == "credited" for r in results) == 1 and all(r.ok for r in results)
    assert len(await list_subscriptions(store, 1)) == 1
    assert len(await order_callbacks(store, results[0].order)) == 100  # type: ignore[arg-type]


async def test_forged_wrong_unpaid_and_unknown_notifies_credit_nothing(
    store: Store, shop: Settings, http: httpx.AsyncClient, gateway: XunhuPayFake
) -> None:
    order = await buy(store, shop, http)
    good = gateway.notify_fields(order.id)
    cases = {
        "bad_hash": {**good, "hash": "0" * 32},
        "wrong_appid": gateway.notify_fields(order.id, appid="99999999"),
        "wrong_amount": gateway.notify_fields(order.id, total_fee="0.01"),
        "status_WP": gateway.notify_fields(order.id, status="WP"),
        "status_CD": gateway.notify_fields(order.id, status="CD"),
        "bad_amount": gateway.notify_fields(order.id, total_fee="lots"),
        "missing_fields": {name: value for name, value in good.items() if name != "total_fee"},
    }
    for verdict, fields in cases.items():
        credit = await handle_notify(store, shop, fields, ip="198.51.100.1", now=NOW + 60)
        assert (credit.verdict, credit.ok) == (verdict, False)
    for fields in (gateway.notify_fields(order.id, trade_order_id="20990101000000NOSUCHORD"), {"garbage": "x" * 999},
                   {}):  # fmt: skip
        assert (await handle_notify(store, shop, fields, ip="198.51.100.1", now=NOW + 60)).ok is False
    assert await list_subscriptions(store, 1) == []
    assert (await find_order(store, order.id)).status == "pending"  # type: ignore[union-attr]
    logged = [entry["verdict"] for entry in await order_callbacks(store, order)]
    assert logged == list(cases)
    assert [entry["verdict"] for entry in await unmatched_callbacks(store)] == ["unknown_order", "missing_fields",
                                                                                "missing_fields"]  # fmt: skip


async def test_reconciliation_credits_a_lost_notify_and_expires_an_unpaid_order(
    store: Store, shop: Settings, http: httpx.AsyncClient, gateway: XunhuPayFake
) -> None:
    paid = await buy(store, shop, http)
    unpaid = await buy(store, shop, http, plan="max", now=NOW + 1)
    await gateway.pay(paid.id, notify=False)  # the payer paid; the notify never arrives
    early = await reconcile_orders(store, shop, http, now=NOW + 60)  # too young to ask about
    assert early.credited == [] and gateway.queries == []
    later = NOW + shop.ORDER_RECONCILE_AFTER_SECONDS + 5
    done = await reconcile_orders(store, shop, http, now=later)
    assert (done.credited, done.expired) == ([paid.id], [])
    assert (await current_plan(store, 1, later)).name == "pro"
    credited = await find_order(store, paid.id)
    assert credited is not None and credited.status == "paid"
    assert [e["verdict"] for e in await order_callbacks(store, credited)] == ["credited"]
    assert (await find_order(store, unpaid.id)).status == "pending"  # type: ignore[union-attr]
    expired = await reconcile_orders(store, shop, http, now=NOW + shop.ORDER_EXPIRE_SECONDS + 1)
    assert expired.expired == [unpaid.id]
    assert (await find_order(store, unpaid.id)).status == "expired"  # type: ignore[union-attr]
    assert await store.redis.zcard(store.keys.pending_orders()) == 0
    # A payment that arrives after expiry is still the payer's: credited, not lost.
    late = await handle_notify(store, shop, gateway.notify_fields(unpaid.id), ip="x", now=NOW + 3 * 3600)
    assert late.verdict == "credited"
