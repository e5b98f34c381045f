"""Per-plan, per-model sliding-window quotas, a daily token cap and reset chances; every check-and-act atomic.

Window log: `{u:ID}:q:<model>` is a zset of ticket ids scored by the request time in ms. An entry counts while
`score > now - window`; consume (one Lua script) drops older entries, adds a ticket if fewer than `limit` remain,
else reports the ms until a slot frees. The status shown to users reads those same keys with the same cutoff.
Daily tokens: `{u:ID}:tok:<yyyymmdd>` (UTC day) counts the tokens used plus those reserved by calls in flight.
A call reserves its estimate (counted prompt + max output) when it consumes, so parallel calls cannot overshoot the
cap together; its settlement replaces the reservation with the real usage (`{u:ID}:reserved` remembers each
reservation, so it is taken back exactly once); a reservation expires with its call's slot lifetime unless renewed,
so the reservation of a call whose process died is given back (the call is charged its window message, no tokens:
never more than it delivered). Stream slots: `{u:ID}:streams` holds the user's answers in flight,
scored by expiry; a slot is freed when its answer is settled or refunded, renewed while it runs, and expires on its
own if the process serving it died. All of it is taken in the one consume script (core.store.lua.billing CONSUME).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from core.billing.plans import Limit, Plan
from core.days import day_stamp, seconds_to_midnight
from core.errors import (
    DailyTokensExceeded,
    ModelNotInPlan,
    NoResetChances,
    PlanCapExceeded,
    QuotaExceeded,
    TooManyStreams,
)
from core.store.connection import STORE_ERRORS, Store
from core.store.retry import later

DAILY_TOKENS_TTL_SECONDS = 2 * 86_400
RESET_CHANCES_FIELD = "reset_chances"


@dataclass(frozen=True)
class RateState:
    """The caller's limits right after a consume, as OpenAI's `x-ratelimit-*` headers tell them: the window of the
    model (messages) and, on a plan with a daily cap, today's tokens (the call's reservation counted as used)."""

    limit: int
    remaining: int
    reset_seconds: float  # until the oldest message in the window leaves it (one more becomes available)
    daily_tokens: int | None = None
    tokens_used: int = 0
    tokens_reset_seconds: float = 0.0  # until 00:00 UTC


@dataclass(frozen=True)
class QuotaTicket:
    """One consumed call: its window entries (`count` messages), its token reservation and stream slot;
    `refund_quota` gives them back."""

    user_id: int | str
    model: str
    member: str
    day: str = ""  # the UTC day whose token counter holds the reservation ("" = the day of `now` when settled)
    count: int = 1  # messages taken from the window (a call asking for n answers takes n)
    rate: RateState | None = field(default=None, compare=False)  # the limits after the consume


@dataclass(frozen=True)
class Consumption:
    """What a chat call takes besides its window slot: a reservation on a daily token cap and a stream slot."""

    reserve: int = 0  # the call's estimated tokens (prompt + max output); reserved only when the plan caps tokens
    streams: int = 0  # the user's concurrent stream limit (0 = no limit, no slot taken)
    slot_seconds: float = 0.0  # how long a stream slot lives unless renewed
    reserves: dict[str, int] = field(default_factory=dict)  # per plan name, when the script picks the plan
    count: int = 1  # messages the call takes from the window (its `n` answers)

    def reserve_for(self, plan: str) -> int:
        return max(0, self.reserves.get(plan, self.reserve))

    def args(self) -> list[int]:
        """Consume's consumption arguments (core.store.lua.billing CONSUME)."""
        return [max(0, self.reserve), DAILY_TOKENS_TTL_SECONDS, max(0, self.streams), int(self.slot_seconds * 1000),
                max(1, self.count)]  # fmt: skip


def consume_keys(store: Store, user_id: int | str, model: str, day: str) -> list[str]:
    """Return consume's keys for one user and model: window, the day's token counter, reservations, stream slots."""
    k = store.keys
    return [k.quota_window(user_id, model), k.daily_tokens(user_id, day), k.token_reservations(user_id),
            k.streams(user_id)]  # fmt: skip


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


async def consume_quota(
    store: Store, user_id: int | str, plan: Plan, model: str, now: float, use: Consumption = Consumption()
) -> QuotaTicket:
    """Take `use.count` messages of the window for `model` (and what `use` asks for), or raise ModelNotInPlan /
    QuotaExceeded / DailyTokensExceeded / TooManyStreams / PlanCapExceeded; nothing is taken when it raises.

    `now` should be read right before the call: the script never lets it go back behind an earlier call's.
    """
    limit = _limit_for(plan, model)
    member, day = new_ticket_id(), day_stamp(now)
    ticket = QuotaTicket(user_id=user_id, model=model, member=member, day=day, count=max(1, use.count))
    try:
        status, value, reset, used = await store.scripts.run(
            "consume_quota",
            consume_keys(store, user_id, model, day),
            [int(now * 1000), limit.seconds * 1000, limit.limit, member, plan.daily_tokens or 0, *use.args()],
        )
    except STORE_ERRORS:  # it may have run before the store went away: what it took is given back when it is back
        later(lambda _: refund_quota(store, ticket), "giving back an unanswered consume")
        raise
    return ticket_from(status, value, ticket, plan, now, use, reset_ms=reset, used=used)


def new_ticket_id() -> str:
    """Return a unique ticket id: 80 bits from the non-cryptographic generator (unique, not secret: no syscall)."""
    return f"{random.getrandbits(80):020x}"


def ticket_from(
    status: int,
    value: float,
    ticket: QuotaTicket,
    plan: Plan,
    now: float,
    use: Consumption = Consumption(),
    *,
    reset_ms: float = 0,
    used: int = 0,
) -> QuotaTicket:
    """Turn a consume script's reply into the ticket (with the limits after it: `rate`), or raise
    DailyTokensExceeded / QuotaExceeded / TooManyStreams / PlanCapExceeded."""
    if status == -3:
        raise PlanCapExceeded(
            f"n is {use.count}, but the {plan.title} plan allows at most {int(value)} requests per "
            f"{_limit_for(plan, ticket.model).window} for {ticket.model}.",
            field="n", limit=int(value), plan=plan.name,
        )  # fmt: skip
    if status == -1:
        raise _daily_tokens_exceeded(plan, int(value), use.reserve_for(plan.name), now)
    if status == -2:
        raise TooManyStreams(
            f"You already have {use.streams} answers in progress; wait for one to finish.", limit=use.streams
        )
    if status == 0:
        limit = _limit_for(plan, ticket.model)
        raise QuotaExceeded(
            f"You have reached {limit.limit} requests per {limit.window} for {ticket.model}.",
            retry_after=min(_seconds_from_ms(value), limit.seconds),
            retry_after_ms=min(max(1, int(value)), limit.seconds * 1000),
            limit=limit.limit,
            window=limit.window,
            model=ticket.model,
        )
    limit = _limit_for(plan, ticket.model)
    cap = plan.daily_tokens or None
    rate = RateState(limit.limit, max(0, int(value)), max(0.0, reset_ms / 1000), cap, int(used),
                     seconds_to_midnight(now) if cap else 0.0)  # fmt: skip
    return replace(ticket, rate=rate)


def _daily_tokens_exceeded(plan: Plan, used: int, reserve: int, now: float) -> DailyTokensExceeded:
    cap = plan.daily_tokens or 0
    data = {"daily_tokens": plan.daily_tokens, "used": used, "retry_after": seconds_to_midnight(now)}
    if used >= cap:
        return DailyTokensExceeded("You have used today's token allowance; it renews at 00:00 UTC.", **data)
    return DailyTokensExceeded(
        f"This request may use up to {reserve} tokens and {cap - used} of today's allowance are left; lower "
        "max_tokens or shorten the conversation. The allowance renews at 00:00 UTC.",
        needed=reserve,
        **data,
    )


def plan_table(plans: Iterable[Plan], model: str, use: Consumption = Consumption()) -> list[str | int]:
    """Flatten plans for a script that picks the plan itself: per plan its name, the limit for `model` (0 = not in
    the plan), the window in ms, the daily token cap (0 = none) and the tokens this call reserves on that plan."""
    table: list[str | int] = []
    for plan in plans:
        limit = plan.limits.get(model)
        window = limit.seconds * 1000 if limit else 0
        table += [plan.name, limit.limit if limit else 0, window, plan.daily_tokens or 0, use.reserve_for(plan.name)]
    return table


async def refund_quota(store: Store, ticket: QuotaTicket) -> bool:
    """Give back what a call took when it got no answer (window slot, token reservation, stream slot); True if the
    window slot was there. Refunding twice gives back nothing more."""
    keys = consume_keys(store, ticket.user_id, ticket.model, ticket.day or "0")
    args = [ticket.member, DAILY_TOKENS_TTL_SECONDS, ticket.count]
    return bool(await store.scripts.run("refund_call", keys, args))


async def give_back(store: Store, ticket: QuotaTicket) -> None:
    """`refund_quota`, or if the store is away, the same in the background once it is back (the caller goes on)."""
    try:
        await refund_quota(store, ticket)
    except STORE_ERRORS:
        later(lambda _: refund_quota(store, ticket), "a refund")
        raise


async def renew_stream(store: Store, ticket: QuotaTicket, slot_seconds: float, now: float) -> bool:
    """Push back the expiry of a call's stream slot and token reservation while its answer runs; False when the slot
    is gone."""
    lifetime = int(slot_seconds * 1000)
    args = [ticket.member, int(now * 1000) + lifetime, lifetime]
    keys = [store.keys.streams(ticket.user_id), store.keys.token_reservations(ticket.user_id)]
    return bool(await store.scripts.run("renew_stream", keys, args))


async def tokens_used_today(store: Store, user_id: int | str, now: float) -> int:
    """Return the tokens counted against today's cap (reservations of calls whose process died given back)."""
    keys = [store.keys.daily_tokens(user_id, day_stamp(now)), store.keys.token_reservations(user_id)]
    return int(await store.scripts.run("tokens_today", keys, [int(now * 1000)]))


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
