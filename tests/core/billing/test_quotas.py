import asyncio

import pytest

from core.billing.plans import Limit, Plan
from core.billing.quotas import (
    QuotaStatus,
    consume_quota,
    quota_status,
    refund_quota,
    tokens_used_today,
    use_reset_chance,
)
from core.billing.usage import record_usage
from core.days import day_stamp
from core.errors import DailyTokensExceeded, LimitReached, ModelNotInPlan, NoResetChances, QuotaExceeded
from core.store.connection import Store

NOW = 1_700_000_000.0
HOUR = 3600
PLAN = Plan("pro", "Pro", {"monthly": 2900}, {"small": Limit(10, "3h"), "big": Limit(2, "1d")})


async def window_size(store: Store, user_id: int, model: str) -> int:
    return int(await store.redis.zcard(store.keys.quota_window(user_id, model)))


async def test_200_concurrent_consumers_against_a_limit_of_10(store: Store) -> None:
    results = await asyncio.gather(
        *(consume_quota(store, 1, PLAN, "small", NOW) for _ in range(200)), return_exceptions=True
    )
    tickets = [result for result in results if not isinstance(result, BaseException)]
    refused = [result for result in results if isinstance(result, QuotaExceeded)]
    assert len(tickets) == 10
    assert len(refused) == 190
    assert len({ticket.member for ticket in tickets}) == 10
    assert await window_size(store, 1, "small") == 10
    assert refused[0].data["retry_after"] == 3 * HOUR
    assert (refused[0].data["limit"], refused[0].data["window"]) == (10, "3h")


async def test_a_clock_read_before_other_calls_ran_never_waits_longer_than_the_window(store: Store) -> None:
    # Ten calls whose clocks were read later got their slots first; a call that read its clock 5 s earlier (awaits
    # between the reading and the script) must not be told to wait 3 h + 5 s (the flaky Retry-After 10801).
    for _ in range(10):
        await consume_quota(store, 1, PLAN, "small", NOW + 5)
    with pytest.raises(QuotaExceeded) as caught:
        await consume_quota(store, 1, PLAN, "small", NOW)
    assert caught.value.data["retry_after"] == 3 * HOUR
    # A late clock still counts in order: its entry is taken at the newest time the window holds.
    ticket = await consume_quota(store, 1, PLAN, "big", NOW + 10)
    await consume_quota(store, 1, PLAN, "big", NOW)
    scores = await store.redis.zrange(store.keys.quota_window(1, "big"), 0, -1, withscores=True)
    assert [score for _, score in scores] == [(NOW + 10) * 1000] * 2 and ticket.member in dict(scores)


async def test_remaining_counts_down(store: Store) -> None:
    for expected in (9, 8, 7):
        await consume_quota(store, 1, PLAN, "small", NOW)
        assert (await quota_status(store, 1, PLAN, NOW))["small"].remaining == expected


async def test_refund_frees_exactly_one_slot(store: Store) -> None:
    tickets = [await consume_quota(store, 1, PLAN, "small", NOW + i) for i in range(10)]
    with pytest.raises(QuotaExceeded):
        await consume_quota(store, 1, PLAN, "small", NOW + 10)
    assert await refund_quota(store, tickets[3])
    assert not await refund_quota(store, tickets[3])  # a second refund of the same ticket frees nothing
    assert await window_size(store, 1, "small") == 9
    await consume_quota(store, 1, PLAN, "small", NOW + 11)
    with pytest.raises(QuotaExceeded):
        await consume_quota(store, 1, PLAN, "small", NOW + 12)


async def test_the_window_slides(store: Store) -> None:
    # Two requests a day: at t=0 and t=1h; the third waits until the first is a full day old.
    await consume_quota(store, 1, PLAN, "big", NOW)
    await consume_quota(store, 1, PLAN, "big", NOW + HOUR)
    with pytest.raises(QuotaExceeded) as caught:
        await consume_quota(store, 1, PLAN, "big", NOW + 2 * HOUR)
    assert caught.value.data["retry_after"] == 22 * HOUR
    with pytest.raises(QuotaExceeded) as caught:
        await consume_quota(store, 1, PLAN, "big", NOW + 24 * HOUR - 0.5)
    assert caught.value.data["retry_after"] == 1
    await consume_quota(store, 1, PLAN, "big", NOW + 24 * HOUR)  # the first one left the window
    with pytest.raises(QuotaExceeded) as caught:
        await consume_quota(store, 1, PLAN, "big", NOW + 24 * HOUR + 1)
    assert caught.value.data["retry_after"] == HOUR - 1  # now the t=1h request is the one to wait for
    assert await window_size(store, 1, "big") == 2


async def test_window_key_expires_with_the_window(store: Store) -> None:
    await consume_quota(store, 1, PLAN, "small", NOW)
    ttl = await store.redis.pttl(store.keys.quota_window(1, "small"))
    assert 3 * HOUR * 1000 - 5000 < ttl <= 3 * HOUR * 1000


async def test_a_model_not_in_the_plan_is_refused(store: Store) -> None:
    with pytest.raises(ModelNotInPlan) as caught:
        await consume_quota(store, 1, PLAN, "gpt-5", NOW)
    assert caught.value.data == {"model": "gpt-5", "plan": "pro"}
    assert await store.redis.exists(store.keys.quota_window(1, "gpt-5")) == 0
    with pytest.raises(ModelNotInPlan):
        await consume_quota(store, 1, Plan("free", "Free"), "small", NOW)


async def test_users_and_models_have_separate_windows(store: Store) -> None:
    for _ in range(2):
        await consume_quota(store, 1, PLAN, "big", NOW)
    await consume_quota(store, 2, PLAN, "big", NOW)
    await consume_quota(store, 1, PLAN, "small", NOW)
    status = await quota_status(store, 1, PLAN, NOW)
    assert status["big"].remaining == 0 and status["small"].remaining == 9


async def test_status_reads_the_keys_consume_writes(store: Store) -> None:
    assert await quota_status(store, 1, PLAN, NOW) == {
        "small": QuotaStatus(limit=10, remaining=10, window="3h", resets_in=0),
        "big": QuotaStatus(limit=2, remaining=2, window="1d", resets_in=0),
    }
    await consume_quota(store, 1, PLAN, "big", NOW)
    await consume_quota(store, 1, PLAN, "big", NOW + HOUR)
    full = (await quota_status(store, 1, PLAN, NOW + 2 * HOUR))["big"]
    assert full == QuotaStatus(limit=2, remaining=0, window="1d", resets_in=22 * HOUR)
    # resets_in agrees with the retry_after consume reports at the same moment.
    with pytest.raises(QuotaExceeded) as caught:
        await consume_quota(store, 1, PLAN, "big", NOW + 2 * HOUR)
    assert caught.value.data["retry_after"] == full.resets_in
    assert (await quota_status(store, 1, PLAN, NOW + 24 * HOUR))["big"].remaining == 1


async def test_a_lowered_limit_waits_for_enough_entries_to_leave(store: Store) -> None:
    for minute in range(5):
        await consume_quota(store, 1, PLAN, "small", NOW + minute * 60)
    lowered = Plan("pro", "Pro", {}, {"small": Limit(2, "3h")})
    with pytest.raises(QuotaExceeded) as caught:
        await consume_quota(store, 1, lowered, "small", NOW + 300)
    # Five entries, limit two: a slot frees when the fourth newest (t=3min) leaves: 3h + 3min - 5min.
    assert caught.value.data["retry_after"] == 3 * HOUR - 120
    assert (await quota_status(store, 1, lowered, NOW + 300))["small"].resets_in == 3 * HOUR - 120


async def test_reset_chance_clears_every_window_and_counts_down(store: Store) -> None:
    await store.redis.hset(store.keys.user(1), mapping={"id": 1, "reset_chances": 2})
    for _ in range(2):
        await consume_quota(store, 1, PLAN, "big", NOW)
    await consume_quota(store, 1, PLAN, "small", NOW)
    await consume_quota(store, 2, PLAN, "big", NOW)
    assert await use_reset_chance(store, 1, PLAN) == 1
    assert await store.redis.hget(store.keys.user(1), "reset_chances") == "1"
    status = await quota_status(store, 1, PLAN, NOW)
    assert (status["big"].remaining, status["small"].remaining) == (2, 10)
    await consume_quota(store, 1, PLAN, "big", NOW)
    assert await window_size(store, 2, "big") == 1  # another user's window is untouched


async def test_without_reset_chances_nothing_is_cleared(store: Store) -> None:
    await store.redis.hset(store.keys.user(1), mapping={"id": 1, "reset_chances": 0})
    for _ in range(2):
        await consume_quota(store, 1, PLAN, "big", NOW)
    with pytest.raises(NoResetChances):
        await use_reset_chance(store, 1, PLAN)
    assert await window_size(store, 1, "big") == 2
    assert await store.redis.hget(store.keys.user(1), "reset_chances") == "0"
    with pytest.raises(NoResetChances):
        await use_reset_chance(store, 99, PLAN)  # no user record at all
    assert await store.redis.exists(store.keys.user(99)) == 0


async def test_concurrent_resets_spend_each_chance_once(store: Store) -> None:
    await store.redis.hset(store.keys.user(1), mapping={"id": 1, "reset_chances": 3})
    results = await asyncio.gather(*(use_reset_chance(store, 1, PLAN) for _ in range(10)), return_exceptions=True)
    assert sorted(r for r in results if isinstance(r, int)) == [0, 1, 2]
    assert sum(isinstance(r, NoResetChances) for r in results) == 7


async def add_tokens(store: Store, user_id: int, tokens: int, now: float) -> int:
    """Count an answer's tokens against today's cap, as the chat path does after a stream; return today's total."""
    await record_usage(store, user_id, "small", tokens, 0, now, daily_tokens=True)
    return await tokens_used_today(store, user_id, now)


async def test_daily_token_cap(store: Store) -> None:
    capped = Plan("max", "Max", {}, {"small": Limit(100, "3h")}, daily_tokens=1000)
    await consume_quota(store, 1, capped, "small", NOW)
    assert await add_tokens(store, 1, 600, NOW) == 600
    await consume_quota(store, 1, capped, "small", NOW)  # 600 < 1000: still allowed
    await add_tokens(store, 1, 500, NOW)
    with pytest.raises(DailyTokensExceeded) as caught:
        await consume_quota(store, 1, capped, "small", NOW)
    until_midnight = 86_400 - NOW % 86_400  # the counter is per UTC day
    assert caught.value.data == {"daily_tokens": 1000, "used": 1100, "retry_after": until_midnight}
    assert isinstance(caught.value, LimitReached) and caught.value.code == "daily_tokens_exceeded"
    assert await window_size(store, 1, "small") == 2  # the refused call took no slot
    assert await tokens_used_today(store, 1, NOW) == 1100
    tomorrow = NOW + 86_400
    assert day_stamp(tomorrow) != day_stamp(NOW)
    await consume_quota(store, 1, capped, "small", tomorrow)
    # Without a cap, tokens are still counted but never refuse.
    await add_tokens(store, 1, 10**9, NOW)
    await consume_quota(store, 1, PLAN, "small", NOW)


async def test_daily_token_counter_expires(store: Store) -> None:
    await add_tokens(store, 1, 5, NOW)
    ttl = await store.redis.ttl(store.keys.daily_tokens(1, day_stamp(NOW)))
    assert 86_400 < ttl <= 2 * 86_400
