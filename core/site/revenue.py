"""Revenue per UTC day for the dashboard: money taken for paid orders, net of refunds, and how many were paid.

``revenue:day:<yyyymmdd>`` is a hash {fen, orders} kept RETENTION_DAYS. `record_paid_order` counts an order on the
day it was paid, once (also when its notify is delivered again after a store restart); `record_revenue` with a
negative amount when it is refunded, so the ledger is written on the same path as the money and never recomputed
from a scan of orders.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.billing.usage import RETENTION_SECONDS
from core.days import day_stamp
from core.store.connection import Store


async def record_revenue(store: Store, amount_fen: int, now: float, orders: int = 1) -> None:
    """Add `amount_fen` (negative for a refund) and `orders` to the day of `now`."""
    key = store.keys.daily_revenue(day_stamp(now))
    async with store.redis.pipeline(transaction=True) as pipe:  # one key
        pipe.hincrby(key, "fen", amount_fen)
        pipe.hincrby(key, "orders", orders)
        pipe.expire(key, RETENTION_SECONDS)
        await pipe.execute()


async def record_paid_order(store: Store, order_id: str, amount_fen: int, paid_at: float) -> bool:
    """Count a paid order in the revenue of the day it was paid, once per order; True when counted now."""
    key = store.keys.daily_revenue(day_stamp(paid_at))
    return bool(await store.scripts.run("revenue_once", [key], [order_id, amount_fen, RETENTION_SECONDS]))


async def revenue_by_day(store: Store, dates: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Return (fen, paid orders) for each date (YYYY-MM-DD) that has any."""
    async with store.redis.pipeline(transaction=False) as pipe:
        for when in dates:
            pipe.hmget(store.keys.daily_revenue(when.replace("-", "")), ["fen", "orders"])
        rows = await pipe.execute()
    return {
        when: (int(fen or 0), int(orders or 0))
        for when, (fen, orders) in zip(dates, rows, strict=True)
        if fen is not None or orders is not None
    }
