"""Revenue per UTC day for the dashboard: money taken for paid orders, net of refunds, and how many were paid.

``revenue:day:<yyyymmdd>`` is a hash {fen, orders} kept RETENTION_DAYS. `record_revenue` is called once per order
when it is credited (the payment path credits exactly once) and with a negative amount when it is refunded, so the
ledger is written on the same path as the money and never recomputed from a scan of orders.
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
