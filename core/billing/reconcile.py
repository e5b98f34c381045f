"""Reconciliation: orders whose notify never came are asked about at XunhuPay and credited through the same path;
unpaid orders expire; paid orders whose follow-ups were interrupted are settled.

`reconcile_orders` looks at pending orders older than ORDER_RECONCILE_AFTER_SECONDS (from `idx:orders:pending`,
oldest first, never a SCAN). `reconciliation_job` runs it every ORDER_RECONCILE_INTERVAL_SECONDS in one process at a
time across every process and machine (a store lease, core.store.lease.run_exclusive).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from core.billing import xunhupay
from core.billing.orders import Order, callback_entry, find_order, log_callback, move_order
from core.billing.payments import credit_order, settle_order
from core.errors import CoreError
from core.metrics import Metrics
from core.settings import Settings
from core.store.connection import Store
from core.store.lease import run_exclusive

log = logging.getLogger(__name__)

LEASE_NAME = "reconcile-orders"
BATCH = 100


@dataclass
class Reconciled:
    """What one pass did (order ids)."""

    credited: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)


async def _ask_gateway(
    store: Store, settings: Settings, http: httpx.AsyncClient, order: Order, now: float, metrics: Metrics | None
) -> str:
    """Query one order; credit it when paid. Returns the verdict ('' when the gateway gave no usable answer)."""
    try:
        status = await xunhupay.query_payment(http, settings, order.id, now)
    except CoreError as error:
        log.warning("XunhuPay query for order %s failed: %s", order.id, error.code)
        return ""
    fields = {"status": status.status, "transaction_id": status.transaction_id,
              "open_order_id": status.open_order_id}  # fmt: skip
    entry = callback_entry("query", fields, ip="", now=now)
    if status.status != "OD":
        await log_callback(store, order.user_id, order.id, entry, f"status_{status.status[:8] or 'none'}")
        return "unpaid"
    credit = await credit_order(
        store, settings, order, amount=order.amount, transaction_id=status.transaction_id,
        open_order_id=status.open_order_id, entry=entry, now=now, metrics=metrics,
    )  # fmt: skip
    return credit.verdict


async def _reconcile_one(
    store: Store, settings: Settings, http: httpx.AsyncClient, order_id: str, now: float, done: Reconciled,
    metrics: Metrics | None,
) -> None:  # fmt: skip
    order = await find_order(store, order_id)
    if order is None or order.status in ("expired", "failed", "refunded"):
        await store.redis.zrem(store.keys.pending_orders(), order_id)
        return
    if order.status == "paid":
        await settle_order(store, settings, order, now)
        done.settled.append(order_id)
        return
    verdict = await _ask_gateway(store, settings, http, order, now, metrics) if settings.payments_enabled else ""
    if verdict == "credited":
        done.credited.append(order_id)
        return
    if verdict == "":
        done.unanswered.append(order_id)
    if verdict != "already_credited" and now >= order.expires_at and await move_order(store, order, "pending",
                                                                                        "expired", now):  # fmt: skip
        await store.redis.zrem(store.keys.pending_orders(), order_id)
        done.expired.append(order_id)


async def reconcile_orders(
    store: Store, settings: Settings, http: httpx.AsyncClient, *, now: float, metrics: Metrics | None = None
) -> Reconciled:
    """One pass over the pending orders old enough to ask about (at most BATCH, oldest first); `metrics` counts
    what it credits."""
    done = Reconciled()
    cutoff = now - settings.ORDER_RECONCILE_AFTER_SECONDS
    order_ids = await store.redis.zrangebyscore(store.keys.pending_orders(), "-inf", cutoff, start=0, num=BATCH)
    for order_id in order_ids:
        try:
            await _reconcile_one(store, settings, http, str(order_id), now, done, metrics)
        except CoreError as error:  # one bad order does not stop the pass
            log.warning("reconciling order %s failed: %s", order_id, error.code)
    if done.credited or done.expired:
        log.info("reconciliation: %d credited, %d expired", len(done.credited), len(done.expired))
    return done


async def reconciliation_job(
    store: Store, settings: Settings, http: httpx.AsyncClient, clock: Callable[[], float],
    metrics: Metrics | None = None,
) -> None:  # fmt: skip
    """Reconcile forever, in one process at a time (returns only when cancelled)."""

    async def passes() -> None:
        while True:
            try:
                await reconcile_orders(store, settings, http, now=clock(), metrics=metrics)
            except Exception:  # the store or the network hiccuped: try again next time
                log.exception("order reconciliation pass failed")
            await asyncio.sleep(settings.ORDER_RECONCILE_INTERVAL_SECONDS)

    await run_exclusive(store, LEASE_NAME, passes, ttl=max(30.0, settings.ORDER_RECONCILE_INTERVAL_SECONDS))
