"""Per-plan, per-model sliding-window quotas, a daily token cap and reset chances; every check-and-act atomic.

Window log: `{u:ID}:q:<model>` is a zset of ticket ids scored by the request time in ms. An entry counts while
`score > now - window`; consume (one Lua script) drops older entries, adds a ticket if fewer than `limit` remain,
else reports the ms until a slot frees. The status shown to users reads those same keys with the same cutoff.
Daily tokens: `{u:ID}:tok:<yyyymmdd>` (UTC day) counts tokens used; consume refuses once it is at the cap.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass

from core.billing.plans import Limit, Plan
from core.days import day_stamp, seconds_to_midnight
from core.errors import DailyTokensExceeded, ModelNotInPlan, NoResetChances, QuotaExceeded
from core.store.connection import Store

DAILY_TOKENS_TTL_SECONDS = 2 * 86_400
RESET_CHANCES_FIELD = "reset_chances"


@dataclass(frozen=True)
class QuotaTicket:
    """One consumed request slot; `refund_quota` removes exactly this entry."""

    user_id: int | str
    model: str
    member: str


@dataclass(frozen=True)
class QuotaStatus:
    limit: int
    remaining: int
    window: str
    resets_in: int  # seconds until the next slot frees; 0 while slots remain


def _limit_for(plan: Plan, model: str) -> Limit:
    limit = plan.limits.get(model)
    if limit is None:
        # Missing means not allowed, never unlimited.
        raise ModelNotInPlan(f"The {plan.title} plan does not include {model}.", model=model, plan=plan.name)
    return limit


def _seconds_from_ms(ms: float) -> int:
    return max(1, math.ceil(ms / 1000))


async def consume_quota(store: Store, user_id: int | str, plan: Plan, model: str, now: float) -> QuotaTicket:
    """Take one request slot for `model`, or raise ModelNotInPlan / QuotaExceeded / LimitReached."""
    limit = _limit_for(plan, model)
    member = new_ticket_id()
    status, value = await store.scripts.run(
        "consume_quota",
        [store.keys.quota_window(user_id, model), store.keys.daily_tokens(user_id, day_stamp(now))],
        [int(now * 1000), limit.seconds * 1000, limit.limit, member, plan.daily_tokens or 0],
    )
    return ticket_from(status, value, QuotaTicket(user_id=user_id, model=model, member=member), plan, now)


def new_ticket_id() -> str:
    """Return a unique ticket id: 80 bits from the non-cryptographic generator (unique, not secret: no syscall)."""
    return f"{random.getrandbits(80):020x}"


def ticket_from(status: int, value: float, ticket: QuotaTicket, plan: Plan, now: float) -> QuotaTicket:
    """Turn a consume script's reply into the ticket, or raise DailyTokensExceeded / QuotaExceeded."""
    if status == -1:
        raise DailyTokensExceeded(
            "You have used today's token allowance; it renews at 00:00 UTC.",
            daily_tokens=plan.daily_tokens,
            used=int(value),
            retry_after=seconds_to_midnight(now),
        )
    if status == 0:
        limit = _limit_for(plan, ticket.model)
        raise QuotaExceeded(
            f"You have reached {limit.limit} requests per {limit.window} for {ticket.model}.",
            retry_after=_seconds_from_ms(value),
            limit=limit.limit,
            window=limit.window,
            model=ticket.model,
        )
    return ticket


def plan_table(plans: Iterable[Plan], model: str) -> list[str | int]:
    """Flatten plans for a script that picks the plan itself: per plan its name, the limit for `model` (0 = not in
    the plan), the window in ms and the daily token cap (0 = none)."""
    table: list[str | int] = []
    for plan in plans:
        limit = plan.limits.get(model)
        table += [plan.name, limit.limit if limit else 0, limit.seconds * 1000 if limit else 0, plan.daily_tokens or 0]
    return table


async def refund_quota(store: Store, ticket: QuotaTicket) -> bool:
    """Give back the slot of a request whose upstream failed before the first token; True if it was there."""
    removed = await store.redis.zrem(store.keys.quota_window(ticket.user_id, ticket.model), ticket.member)
    return bool(removed)


async def tokens_used_today(store: Store, user_id: int | str, now: float) -> int:
    """Return the tokens counted against today's cap."""
    return int(await store.redis.get(store.keys.daily_tokens(user_id, day_stamp(now))) or 0)


async def quota_status(store: Store, user_id: int | str, plan: Plan, now: float) -> dict[str, QuotaStatus]:
    """Return limit, remaining, window and resets_in for every model of the plan, in one round trip."""
    now_ms = int(now * 1000)
    models = list(plan.limits.items())
    async with store.redis.pipeline(transaction=True) as pipe:
        for model, limit in models:
            key = store.keys.quota_window(user_id, model)
            cutoff = f"({now_ms - limit.seconds * 1000}"  # the same cutoff consume uses: score > now - window
            pipe.zcount(key, cutoff, "+inf")
            # The entry whose expiry frees a slot when the window is full: the limit-th newest live one.
            pipe.zrange(key, "+inf", cutoff, desc=True, byscore=True, offset=limit.limit - 1, num=1, withscores=True)
        replies = await pipe.execute()
    result: dict[str, QuotaStatus] = {}
    for index, (model, limit) in enumerate(models):
        count, freeing = int(replies[2 * index]), replies[2 * index + 1]
        remaining = max(0, limit.limit - count)
        resets_in = 0
        if remaining == 0 and freeing:
            resets_in = _seconds_from_ms(float(freeing[0][1]) + limit.seconds * 1000 - now_ms)
        result[model] = QuotaStatus(limit.limit, remaining, limit.window, resets_in)
    return result


async def use_reset_chance(store: Store, user_id: int | str, plan: Plan) -> int:
    """Spend one reset chance and clear every window of the plan's models; return the chances left."""
    keys = [store.keys.user(user_id), *(store.keys.quota_window(user_id, model) for model in plan.limits)]
    left = int(await store.scripts.run("use_reset_chance", keys, [RESET_CHANCES_FIELD]))
    if left < 0:
        raise NoResetChances()
    return left
