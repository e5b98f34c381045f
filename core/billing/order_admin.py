"""Orders as the dashboard sees and changes them: lists by status, user and dates, one order with every payment
callback and its verdict, refunds (the unused time taken back, atomically, once) and reconciliation on demand.

Lists read the order indexes kept on write (``idx:orders``, ``{u:ID}:orders``, scored by creation time), newest
first; a status filter is applied to what is read, in bounded steps, so a page never scans every order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import orjson

from core.billing.orders import (
    CALLBACK_LOG_CAP,
    STATUSES,
    Order,
    callback_entry,
    find_order,
    order_callbacks,
    order_from_fields,
    unmatched_callbacks,
)
from core.billing.reconcile import reconcile_orders
from core.errors import InvalidInput, NotFound
from core.metrics import Metrics
from core.settings import Settings
from core.site.audit import Actor, record_audit
from core.site.revenue import record_revenue
from core.store.connection import Store

MAX_PAGE = 100
BATCH = 100
MAX_STEPS = 10


@dataclass(frozen=True)
class OrdersPage:
    orders: list[Order]
    next_cursor: str | None


def _bounds(start: str | None, end: str | None) -> tuple[float, float]:
    """Turn YYYY-MM-DD dates (UTC, both days included) into a score range."""
    try:
        low = datetime.combine(date.fromisoformat(start), datetime.min.time(), UTC).timestamp() if start else 0.0
        high = (
            datetime.combine(date.fromisoformat(end) + timedelta(days=1), datetime.min.time(), UTC).timestamp()
            if end
            else float("inf")
        )
    except ValueError as exc:
        raise InvalidInput("Dates are written YYYY-MM-DD.", field="from" if start else "to") from exc
    if low >= high:
        raise InvalidInput("from must not be after to.", field="from")
    return low, high


def _cursor(cursor: str | None) -> float | None:
    if not cursor:
        return None
    try:
        return float(cursor)
    except ValueError as exc:
        raise InvalidInput("The cursor is not valid.", field="cursor") from exc


async def _load(store: Store, ids: list[str]) -> list[Order]:
    async with store.redis.pipeline(transaction=False) as pipe:  # GETs, not one MGET: the keys span slots
        for order_id in ids:
            pipe.get(store.keys.order_owner(order_id))
        owners = await pipe.execute()
    async with store.redis.pipeline(transaction=False) as pipe:
        for order_id, owner in zip(ids, owners, strict=True):
            pipe.hgetall(store.keys.order(str(owner or 0), order_id))
        rows = await pipe.execute()
    return [order for row in rows if (order := order_from_fields(row)) is not None]


async def list_orders_page(
    store: Store, *, status: str | None = None, user_id: int | None = None, start: str | None = None,
    end: str | None = None, cursor: str | None = None, limit: int = 50,
) -> OrdersPage:  # fmt: skip
    """Return orders newest first, filtered by status, owner and creation day; the cursor is a creation time."""
    if status and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}.", field="status")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be from 1 to {MAX_PAGE}.", field="limit")
    low, high = _bounds(start, end)
    before = _cursor(cursor)
    index = store.keys.user_orders(user_id) if user_id is not None else store.keys.orders_index()
    found: list[Order] = []
    upper = f"({before}" if before is not None else f"({high}" if high != float("inf") else "+inf"
    for _ in range(MAX_STEPS):
        rows: list[tuple[str, float]] = await store.redis.zrevrangebyscore(  # type: ignore[assignment]
            index, upper, low, start=0, num=BATCH, withscores=True
        )
        for order in await _load(store, [str(order_id) for order_id, _ in rows]):
            if not status or order.status == status:
                found.append(order)
                if len(found) == limit:
                    return OrdersPage(found, repr(order.created_at))
        if len(rows) < BATCH:
            return OrdersPage(found, None)
        upper = f"({rows[-1][1]}"
    return OrdersPage(found, upper[1:])


async def order_detail(store: Store, order_id: str) -> dict[str, Any]:
    """Return an order with its owner, payment ids and every callback (and query answer) with its verdict."""
    order = await find_order(store, order_id)
    if order is None:
        raise NotFound("No such order.")
    refunded = await store.redis.hmget(store.keys.order(order.user_id, order.id), ["refunded_at", "refunded_seconds"])
    return {
        **order.public(), "user_id": order.user_id, "transaction_id": order.transaction_id,
        "open_order_id": order.open_order_id, "error": order.error, "settled": order.settled,
        "refunded_at": float(refunded[0]) if refunded[0] else None,
        "refunded_seconds": int(refunded[1]) if refunded[1] else None,
        "callbacks": await order_callbacks(store, order),
    }  # fmt: skip


async def refund_order(store: Store, actor: Actor, order_id: str, now: float) -> dict[str, Any]:
    """Refund a paid order: take back its unused time and mark it refunded (the money goes back through XunhuPay's
    merchant console; this records it). Refunding again changes nothing."""
    order = await find_order(store, order_id)
    if order is None:
        raise NotFound("No such order.")
    entry = callback_entry("refund", {"by": actor.label}, ip="", now=now)
    verdict, taken = await store.scripts.run(
        "refund_order",
        [store.keys.order(order.user_id, order.id), store.keys.subscriptions(order.user_id),
         store.keys.order_callbacks(order.user_id, order.id)],
        [int(now), orjson.dumps(entry), CALLBACK_LOG_CAP],
    )  # fmt: skip
    if verdict == "not_paid":
        raise InvalidInput(f"Only a paid order can be refunded; this one is {order.status}.", field="status")
    if verdict == "refunded":
        await record_revenue(store, -order.amount, now, orders=0)  # money back that day; it was paid before
        await store.redis.zrem(store.keys.pending_orders(), order.id)
        await record_audit(
            store, actor, "order.refund", order.id, {"status": order.status, "amount": order.amount},
            {"status": "refunded", "seconds_taken_back": int(taken)}, now,
        )  # fmt: skip
    return {"verdict": str(verdict), "seconds_taken_back": int(taken), "order": await order_detail(store, order_id)}


async def reconcile_now(
    store: Store, settings: Settings, http: httpx.AsyncClient, actor: Actor, now: float, metrics: Metrics | None = None
) -> dict[str, list[str]]:
    """Ask XunhuPay about every pending order now (not only the older ones), credit the paid, expire the overdue."""
    eager = settings.model_copy(update={"ORDER_RECONCILE_AFTER_SECONDS": 0})
    done = await reconcile_orders(store, eager, http, now=now, metrics=metrics)
    result = {"credited": done.credited, "expired": done.expired, "settled": done.settled,
              "unanswered": done.unanswered}  # fmt: skip
    await record_audit(store, actor, "order.reconcile", "orders", None, result, now)
    return result


async def stray_callbacks(store: Store) -> list[dict[str, Any]]:
    """Return the payment callbacks that named no order of ours (forged, garbage, another shop's), newest first."""
    return list(reversed(await unmatched_callbacks(store)))
