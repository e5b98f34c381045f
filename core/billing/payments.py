"""Paying for a plan: opening an order with its XunhuPay payment, and crediting a paid order exactly once.

Crediting is one Lua script in the owner's hash slot (CREDIT_ORDER): it reads the order, checks its status and the
amount, places the time by the purchase rule, marks the order paid and logs the callback with its verdict, so any
number of callbacks, however they interleave across processes, credit once. Notify callbacks and the
reconciliation job (core.billing.reconcile) both credit through `credit_order`. After a credit, `settle_order`
does the follow-ups (invitation reward for a first payment, commission) and takes the order off the pending index;
both are idempotent, and an order whose follow-ups were interrupted stays pending until reconciliation finishes them.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace

import httpx
import orjson

from core.billing import xunhupay
from core.billing.invitations import add_commission, reward_invitation
from core.billing.orders import (
    CALLBACK_LOG_CAP,
    Order,
    callback_entry,
    create_order,
    find_order,
    log_callback,
    move_order,
    order_owner,
    set_order_fields,
)
from core.billing.plans import FREE_PLAN, cached_plans
from core.billing.purchases import price_of, rate_args
from core.billing.subscriptions import index_plan_users
from core.errors import PaymentFailed, PaymentsDisabled, TooManyAttempts
from core.metrics import Metrics
from core.settings import Settings
from core.site.config import runtime_settings
from core.site.revenue import record_paid_order
from core.store.connection import Store

log = logging.getLogger(__name__)

OK_VERDICTS = frozenset({"credited", "already_credited"})
PROVIDER = "xunhupay"  # the one payment gateway (the metrics' provider label)


@dataclass(frozen=True)
class Credit:
    """The verdict on one payment report (a notify or a query answer) and the order it concerned, if any."""

    verdict: str
    order: Order | None

    @property
    def ok(self) -> bool:
        """Credited now or before: the callback gets `success`."""
        return self.verdict in OK_VERDICTS


async def open_order(
    store: Store, settings: Settings, http: httpx.AsyncClient, user_id: int, plan_name: str, cycle: str, *, wap: bool,
    lang: str, now: float, site_url: str = "",
) -> Order:  # fmt: skip
    """Open an order for one cycle of a plan and create its XunhuPay payment (`type=WAP` for phones).

    `site_url`: the site's public base URL for the gateway's return and notify addresses when DOMAIN (and
    CALLBACK_DOMAIN) are unset: the address the buyer's request came to.

    PaymentsDisabled without XunhuPay settings; InvalidInput / PlanNotForSale for a bad choice; TooManyAttempts past
    ORDERS_PER_HOUR; PaymentFailed when the gateway refuses (the order is then `failed`).
    """
    if not settings.payments_enabled:
        raise PaymentsDisabled()
    settings = await runtime_settings(store, settings)  # the dashboard's order expiry and site title
    price = await price_of(store, settings, plan_name, cycle)
    counted, ttl = await store.scripts.run("take_attempt", [store.keys.order_rate(user_id)],
                                           [3600, settings.ORDERS_PER_HOUR])  # fmt: skip
    if not counted:
        raise TooManyAttempts(retry_after=max(1, int(ttl)))
    order = await create_order(store, user_id, price, wap=wap, expires_in=settings.ORDER_EXPIRE_SECONDS, now=now)
    title = xunhupay.payment_title(settings.NEXT_PUBLIC_TITLE, price.plan.title, price.seconds // 86_400, lang)
    try:
        links = await xunhupay.create_payment(
            http,
            settings,
            order_id=order.id,
            amount=order.amount,
            title=title,
            wap=wap,
            now=now,
            site_url=settings.DOMAIN or site_url,
        )
    except PaymentFailed as exc:
        await move_order(store, order, "pending", "failed", now, error=str(exc.data.get("gateway_error", "refused")))
        await store.redis.zrem(store.keys.pending_orders(), order.id)
        raise
    await set_order_fields(store, order, pay_url=links.pay_url, qr_url=links.qr_url, open_order_id=links.open_order_id)
    return replace(order, pay_url=links.pay_url, qr_url=links.qr_url, open_order_id=links.open_order_id)


async def credit_order(
    store: Store, settings: Settings, order: Order, *, amount: int, transaction_id: str, open_order_id: str,
    entry: dict[str, object], now: float, metrics: Metrics | None = None,
) -> Credit:  # fmt: skip
    """Credit a paid order once (atomic, idempotent), log the report with its verdict, then settle it. `metrics`
    (the process's) counts the credit: once per order, by provider and by what reported the payment."""
    plans = await cached_plans(store)
    keys = store.keys
    verdict, _, _ = await store.scripts.run(
        "credit_order",
        [keys.order(order.user_id, order.id), keys.subscriptions(order.user_id),
         keys.order_callbacks(order.user_id, order.id)],
        [int(now), amount, transaction_id, open_order_id, secrets.token_hex(8), FREE_PLAN, orjson.dumps(entry),
         CALLBACK_LOG_CAP, *rate_args(plans, settings)],
    )  # fmt: skip
    if verdict == "credited" and metrics is not None:  # once per order
        source = str(entry.get("source") or "notify")
        metrics.inc("chatgate_payments_credited_total", provider=PROVIDER, source=source)
        metrics.inc("chatgate_payments_credited_fen_total", amount, provider=PROVIDER, source=source)
    current = await find_order(store, order.id)
    if verdict in OK_VERDICTS and current is not None:
        if verdict == "credited" or not current.settled:  # again: a store restart cut the first one's follow-ups
            await record_paid_order(store, current.id, current.amount, current.paid_at or now)  # once per order
            await index_plan_users(store, order.user_id)
        current = await settle_order(store, settings, current, now)
    return Credit(str(verdict), current)


async def settle_order(store: Store, settings: Settings, order: Order, now: float) -> Order:
    """Do a paid order's follow-ups once (invitation reward, commission) and take it off the pending index."""
    if order.status != "paid":
        return order
    if not order.settled:
        await reward_invitation(store, settings, order.user_id, trigger="paid_order", now=now)
        await add_commission(store, settings, order)
        await set_order_fields(store, order, settled=1)
    await store.redis.zrem(store.keys.pending_orders(), order.id)
    return replace(order, settled=True)


async def handle_notify(
    store: Store, settings: Settings, fields: Mapping[str, str], *, ip: str, now: float, metrics: Metrics | None = None
) -> Credit:
    """Judge a XunhuPay notify: the hash over every received field, the appid, status OD, then the order's amount
    and state (in the crediting script). Every callback is kept with its verdict: in its order's log, or in the
    unmatched log when it names no order of ours."""
    entry = callback_entry("notify", fields, ip=ip, now=now)
    order_id = str(fields.get("trade_order_id") or "")[:64]
    if not settings.payments_enabled:
        await log_callback(store, None, order_id, entry, "payments_disabled")
        return Credit("payments_disabled", None)
    owner = await order_owner(store, order_id)
    problem = xunhupay.notify_problem(fields, settings)
    if owner is None:
        await log_callback(store, None, order_id, entry, problem or "unknown_order")
        return Credit(problem or "unknown_order", None)
    order = await find_order(store, order_id)
    if order is None:
        await log_callback(store, None, order_id, entry, "unknown_order")
        return Credit("unknown_order", None)
    if problem is not None:
        await log_callback(store, owner, order_id, entry, problem)
        log.warning("XunhuPay notify for order %s refused: %s", order_id, problem)
        return Credit(problem, order)
    amount = xunhupay.yuan_to_fen(fields["total_fee"])
    assert amount is not None  # notify_problem checked it
    return await credit_order(
        store, settings, order, amount=amount, transaction_id=str(fields.get("transaction_id", ""))[:64],
        open_order_id=str(fields.get("open_order_id", ""))[:64], entry=entry, now=now, metrics=metrics,
    )  # fmt: skip
