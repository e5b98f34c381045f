"""Usage accounting: requests and tokens per user, per model, per day (UTC), plus site-wide daily totals.

Keys: ``{u:ID}:usage:<yyyymmdd>`` and ``usage:day:<yyyymmdd>``, hashes with fields ``<model>:requests``,
``<model>:prompt`` and ``<model>:completion``; both kept ~400 days for the account page and dashboard charts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.billing.quotas import DAILY_TOKENS_TTL_SECONDS, QuotaTicket, consume_keys
from core.days import day_stamp
from core.errors import InvalidInput
from core.store.connection import Store

RETENTION_DAYS = 400
RETENTION_SECONDS = RETENTION_DAYS * 86_400
SETTLED_MEMORY_MS = 900_000  # how long a settled call's ticket is remembered (its settlement is not counted twice)
_FIELDS = {"requests": "requests", "prompt": "prompt_tokens", "completion": "completion_tokens"}


@dataclass(frozen=True)
class UsageRow:
    date: str  # YYYY-MM-DD (UTC)
    model: str
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def public(self) -> dict[str, Any]:
        return asdict(self)


async def record_usage(
    store: Store,
    user_id: int | str,
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    now: float,
    *,
    daily_tokens: bool = False,
    ticket: QuotaTicket | None = None,
    again: bool = False,
) -> bool:
    """Count one call (the messages its ticket took: `n` answers count n) and its tokens for the user and the site,
    and note the user as active, in one round trip; True when counted, False when its ticket was counted before.

    With `daily_tokens`, the tokens also count against the user's daily cap. With the call's `ticket`, its token
    reservation is replaced by these tokens (on the counter of the day it was reserved on) and its stream slot is
    freed, in the same atomic step as the user's counts, which happens once per ticket. On one store the site's
    counts follow in the same script, only when the user's were counted. On a cluster they are other scripts;
    `again` (this call's settlement was sent before and its answer lost, the store went away): they follow only if
    the user's were not done yet (two round trips).
    """
    if prompt_tokens < 0 or completion_tokens < 0:
        raise InvalidInput("Token counts cannot be negative.")
    day = day_stamp(now)
    user_keys = consume_keys(store, user_id, model, (ticket.day if ticket else "") or day)
    user_keys[0] = store.keys.user_usage(user_id, day)  # same hash tag: one atomic script
    user_keys.append(store.keys.settled_calls(user_id))
    requests = ticket.count if ticket else 1
    user_args = [
        model, prompt_tokens, completion_tokens, RETENTION_SECONDS, DAILY_TOKENS_TTL_SECONDS,
        1 if daily_tokens else 0, ticket.member if ticket else "", requests, int(now * 1000), SETTLED_MEMORY_MS,
    ]  # fmt: skip
    site = [
        ("record_usage", [store.keys.daily_usage(day)], [model, prompt_tokens, completion_tokens, RETENTION_SECONDS,
                                                         requests]),
        ("note_activity", [store.keys.active_users(), store.keys.active_day(day)],
         [str(user_id), int(now), RETENTION_SECONDS]),
    ]  # fmt: skip
    if not store.scripts.cluster:  # one script: the site's counts only when the user's were counted
        site_keys = [key for _, keys, _ in site for key in keys]
        site_args = [arg for _, _, args in site for arg in args]
        return bool(await store.scripts.run("settle_and_count", user_keys + site_keys, user_args + site_args))
    if again:
        if not await store.scripts.run("settle_call", user_keys, user_args):
            return False
        await store.scripts.run_all(site)
        return True
    # On a cluster, three scripts (the site and activity keys live in other hash slots than the user's keys), sent
    # together: the site's counts of a first settlement are not held back for the user's answer.
    counted, *_ = await store.scripts.run_all([("settle_call", user_keys, user_args), *site])
    return bool(counted)


def _days(days: int, now: float) -> list[str]:
    if not 1 <= days <= RETENTION_DAYS:
        raise InvalidInput(f"days must be between 1 and {RETENTION_DAYS}.", field="days")
    return [day_stamp(now - offset * 86_400) for offset in range(days - 1, -1, -1)]


def _rows(day: str, counts: dict[str, str]) -> list[UsageRow]:
    per_model: dict[str, dict[str, int]] = {}
    for field, value in counts.items():
        model, _, kind = field.rpartition(":")
        if model and kind in _FIELDS:
            per_model.setdefault(model, {})[_FIELDS[kind]] = int(value)
    date = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    return [UsageRow(date=date, model=model, **values) for model, values in sorted(per_model.items())]


async def _read(store: Store, keys: list[str], days: list[str]) -> list[UsageRow]:
    async with store.redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hgetall(key)
        results = await pipe.execute()
    return [row for day, counts in zip(days, results, strict=True) for row in _rows(day, counts)]


async def user_usage(store: Store, user_id: int | str, days: int, now: float) -> list[UsageRow]:
    """Return the user's rows for the last `days` days (today included), oldest first, one per day and model."""
    stamps = _days(days, now)
    return await _read(store, [store.keys.user_usage(user_id, day) for day in stamps], stamps)


async def site_usage(store: Store, days: int, now: float) -> list[UsageRow]:
    """Return the site-wide rows for the last `days` days, oldest first, one per day and model."""
    stamps = _days(days, now)
    return await _read(store, [store.keys.daily_usage(day) for day in stamps], stamps)


async def site_usage_on(store: Store, days: list[str]) -> list[UsageRow]:
    """Return the site-wide rows of the given days (yyyymmdd), in that order, one per day and model."""
    return await _read(store, [store.keys.daily_usage(day) for day in days], days)
