import asyncio
import calendar

import pytest

from core.billing.usage import RETENTION_SECONDS, UsageRow, record_usage, site_usage, user_usage
from core.errors import InvalidInput
from core.store.connection import Store

DAY = 86_400
# 2024-03-10 12:00:00 UTC
NOW = float(calendar.timegm((2024, 3, 10, 12, 0, 0)))


async def test_rows_per_day_and_model(store: Store) -> None:
    await record_usage(store, 1, "gpt-4o", 10, 20, NOW - 2 * DAY)
    await record_usage(store, 1, "gpt-4o", 5, 7, NOW)
    await record_usage(store, 1, "gpt-4o", 1, 1, NOW)
    await record_usage(store, 1, "gpt-4o-mini", 3, 0, NOW)
    await record_usage(store, 2, "gpt-4o", 100, 200, NOW)
    assert await user_usage(store, 1, 7, NOW) == [
        UsageRow("2024-03-08", "gpt-4o", 1, 10, 20),
        UsageRow("2024-03-10", "gpt-4o", 2, 6, 8),
        UsageRow("2024-03-10", "gpt-4o-mini", 1, 3, 0),
    ]
    assert await user_usage(store, 1, 1, NOW) == [
        UsageRow("2024-03-10", "gpt-4o", 2, 6, 8),
        UsageRow("2024-03-10", "gpt-4o-mini", 1, 3, 0),
    ]
    assert await user_usage(store, 3, 30, NOW) == []
    site = await site_usage(store, 30, NOW)
    assert UsageRow("2024-03-10", "gpt-4o", 3, 106, 208) in site
    assert sum(row.requests for row in site) == 5
    assert site[0].public() == {
        "date": "2024-03-08",
        "model": "gpt-4o",
        "requests": 1,
        "prompt_tokens": 10,
        "completion_tokens": 20,
    }


async def test_model_names_with_colons_and_day_boundary(store: Store) -> None:
    midnight = float(calendar.timegm((2024, 3, 10, 0, 0, 0)))
    await record_usage(store, 1, "ft:gpt-4o:acme", 1, 2, midnight - 1)
    await record_usage(store, 1, "ft:gpt-4o:acme", 1, 2, midnight)
    rows = await user_usage(store, 1, 2, midnight)
    assert [(row.date, row.model, row.requests) for row in rows] == [
        ("2024-03-09", "ft:gpt-4o:acme", 1),
        ("2024-03-10", "ft:gpt-4o:acme", 1),
    ]


async def test_concurrent_records_all_count_and_keys_expire(store: Store) -> None:
    await asyncio.gather(*(record_usage(store, 1, "m", 1, 2, NOW) for _ in range(50)))
    assert await user_usage(store, 1, 1, NOW) == [UsageRow("2024-03-10", "m", 50, 50, 100)]
    for key in (store.keys.user_usage(1, "20240310"), store.keys.daily_usage("20240310")):
        assert RETENTION_SECONDS - 5 < await store.redis.ttl(key) <= RETENTION_SECONDS


@pytest.mark.parametrize("days", [0, -1, 401])
async def test_days_out_of_range(store: Store, days: int) -> None:
    with pytest.raises(InvalidInput):
        await user_usage(store, 1, days, NOW)


async def test_negative_tokens_are_refused(store: Store) -> None:
    with pytest.raises(InvalidInput):
        await record_usage(store, 1, "m", -1, 0, NOW)
    assert await store.redis.dbsize() == 0
