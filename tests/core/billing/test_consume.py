"""The one consume step under contention: daily-token reservations (issue 9, 7f) and stream slots (7h); see also
tests/core/billing/test_quotas.py for a clock read before other calls ran (8)."""

import asyncio

import pytest

from core.billing.plans import Limit, Plan
from core.billing.quotas import Consumption, QuotaTicket, consume_quota, refund_quota, renew_stream, tokens_used_today
from core.billing.usage import record_usage
from core.errors import DailyTokensExceeded, QuotaExceeded, TooManyStreams
from core.store.connection import Store

NOW = 1_700_000_000.0
CAPPED = Plan("max", "Max", {}, {"small": Limit(1000, "3h")}, daily_tokens=1000)
PLAN = Plan("pro", "Pro", {}, {"small": Limit(10, "3h"), "big": Limit(1000, "1d")})


async def consume(store: Store, plan: Plan, use: Consumption, now: float = NOW) -> QuotaTicket | Exception:
    try:
        return await consume_quota(store, 1, plan, "small", now, use)
    except (DailyTokensExceeded, QuotaExceeded, TooManyStreams) as error:
        return error


async def test_parallel_calls_cannot_overshoot_the_daily_cap_together(store: Store) -> None:
    # 50 calls at once, each may use up to 90 tokens: only as many as the cap holds start (before: all 50).
    results = await asyncio.gather(*(consume(store, CAPPED, Consumption(reserve=90)) for _ in range(50)))
    tickets = [result for result in results if isinstance(result, QuotaTicket)]
    refused = [result for result in results if isinstance(result, DailyTokensExceeded)]
    assert (len(tickets), len(refused)) == (11, 39)  # 11 * 90 = 990 <= 1000 < 12 * 90
    assert await tokens_used_today(store, 1, NOW) == 990
    assert refused[0].data["needed"] == 90 and refused[0].data["used"] == 990
    # Settling replaces each reservation with the real usage, once; refunding gives the reservation back, once.
    for ticket in tickets[:10]:
        await record_usage(store, 1, "small", 20, 10, NOW, daily_tokens=True, ticket=ticket)
        await record_usage(store, 1, "small", 0, 0, NOW, daily_tokens=True, ticket=ticket)  # nothing more to undo
    assert await tokens_used_today(store, 1, NOW) == 10 * 30 + 90
    assert await refund_quota(store, tickets[10]) and not await refund_quota(store, tickets[10])
    assert await tokens_used_today(store, 1, NOW) == 300
    assert await store.redis.hlen(store.keys.token_reservations(1)) == 0


async def test_a_reservation_is_settled_on_the_day_it_was_taken(store: Store) -> None:
    ticket = await consume_quota(store, 1, CAPPED, "small", NOW, Consumption(reserve=500))
    tomorrow = NOW + 86_400
    await record_usage(store, 1, "small", 100, 50, tomorrow, daily_tokens=True, ticket=ticket)
    assert await tokens_used_today(store, 1, NOW) == 150  # the answer's tokens replace the reservation there
    assert await tokens_used_today(store, 1, tomorrow) == 0


async def test_a_full_day_or_a_too_big_estimate_is_refused_with_what_is_left(store: Store) -> None:
    await consume_quota(store, 1, CAPPED, "small", NOW, Consumption(reserve=600))
    with pytest.raises(DailyTokensExceeded) as caught:
        await consume_quota(store, 1, CAPPED, "small", NOW, Consumption(reserve=600))
    assert caught.value.data["needed"] == 600 and "400 of today's allowance" in caught.value.message
    await consume_quota(store, 1, CAPPED, "small", NOW, Consumption(reserve=400))
    with pytest.raises(DailyTokensExceeded) as caught:
        await consume_quota(store, 1, CAPPED, "small", NOW, Consumption(reserve=1))
    assert "needed" not in caught.value.data and caught.value.data["used"] == 1000
    assert int(await store.redis.zcard(store.keys.quota_window(1, "small"))) == 2  # refused calls took no slot


async def test_stream_slots_are_limited_freed_and_expire(store: Store) -> None:
    use = Consumption(streams=2, slot_seconds=60)
    first, second = await consume(store, PLAN, use), await consume(store, PLAN, use)
    assert isinstance(first, QuotaTicket) and isinstance(second, QuotaTicket)
    refused = await consume(store, PLAN, use)
    assert isinstance(refused, TooManyStreams) and refused.data == {"limit": 2}
    assert int(await store.redis.zcard(store.keys.quota_window(1, "small"))) == 2  # the refused call took nothing
    await record_usage(store, 1, "small", 1, 1, NOW, ticket=first)  # an answer settled: its slot is free
    third = await consume(store, PLAN, use)
    assert isinstance(third, QuotaTicket)
    await refund_quota(store, third)  # an answer refunded: its slot is free too
    assert isinstance(await consume(store, PLAN, use), QuotaTicket)
    # A process died with its answers in flight: their slots expire; a running answer renews its own.
    assert await renew_stream(store, second, 60, NOW + 45)  # now lives until NOW + 105
    assert isinstance(await consume(store, PLAN, use, NOW + 61), QuotaTicket)  # the unrenewed one expired
    assert isinstance(await consume(store, PLAN, use, NOW + 62), TooManyStreams)  # `second` is still alive
    assert isinstance(await consume(store, PLAN, use, NOW + 122), QuotaTicket)  # every old slot has expired
    assert not await renew_stream(store, first, 60, NOW + 45)  # a freed slot is not brought back


async def test_200_parallel_calls_against_a_stream_limit_of_3(store: Store) -> None:
    results = await asyncio.gather(*(consume(store, PLAN, Consumption(streams=3, slot_seconds=60)) for _ in range(200)))
    assert sum(isinstance(result, QuotaTicket) for result in results) == 3
    assert await store.redis.zcard(store.keys.streams(1)) == 3
