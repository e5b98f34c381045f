"""Calendar days in UTC: the day stamps in key names (daily counters, usage), the dates shown for them, ISO times."""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime

SECONDS_PER_DAY = 86_400


def day_stamp(now: float) -> str:
    """Return the UTC day of `now` as yyyymmdd."""
    return _day_stamp(int(now // SECONDS_PER_DAY))


@functools.lru_cache(maxsize=8)
def _day_stamp(day: int) -> str:  # formatted once per day, not on every request
    return datetime.fromtimestamp(day * SECONDS_PER_DAY, UTC).strftime("%Y%m%d")


def seconds_to_midnight(now: float) -> int:
    """Return the whole seconds (at least 1) until the next 00:00 UTC."""
    return max(1, math.ceil(SECONDS_PER_DAY - now % SECONDS_PER_DAY))


def iso_utc(seconds: float | None) -> str | None:
    """Return unix seconds as ISO 8601 UTC (`2027-01-31T00:00:00Z`), None for None."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
