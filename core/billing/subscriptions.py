"""Subscriptions: which plan a user is on, and until when.

`{u:ID}:subs` is a zset of subscription JSON scored by `ends_at`. Paid time is never lost and never overlaps.
Purchases, redemption codes and invitation bonuses go through core.billing.purchases (same plan extends, a dearer
plan upgrades at once converting the unused value, a cheaper one queues); `add_subscription` here is the plain
grant used by merges and operators: it starts when the user's last non-free subscription ends (or now).
Adding is idempotent by order id, atomically (a replayed payment callback credits once).
The user's plan is the plan of the subscription active at `now` (starts_at <= now < ends_at), else `free`; an
ended subscription or a deleted plan record falls back to free, never to "unlimited". That rule is written once,
in Lua (core.store.lua.billing PICK_PLAN), and run by every path that needs the plan, the /v1 fast path included.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from core.billing.plans import FREE_PLAN, Plan, cached_plans, empty_free_plan, get_plan
from core.errors import InvalidInput, NotFound
from core.store.connection import Store

MAX_SUBSCRIPTION_SECONDS = 20 * 366 * 86_400


@dataclass(frozen=True)
class Subscription:
    """One segment of paid time. `fen` is what it is worth (None: granted, valued at the plan's list rate),
    `mode` how it was placed (new | extend | upgrade | downgrade), `source` where it came from (order | code |
    invite | ''), `converted_fen` / `bonus_seconds` the unused value an upgrade converted and the time it bought,
    `upgraded_at` when an upgrade cut this segment short."""

    id: str
    plan: str
    starts_at: int
    ends_at: int
    order_id: str | None = None
    fen: int | None = None
    mode: str = ""
    source: str = ""
    converted_fen: int = 0
    bonus_seconds: int = 0
    upgraded_at: int | None = None

    def active_at(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def public(self) -> dict[str, Any]:
        """The fields shown to the user (timeline on the account page)."""
        return {
            "id": self.id, "plan": self.plan, "starts_at": self.starts_at, "ends_at": self.ends_at,
            "order_id": self.order_id, "mode": self.mode, "source": self.source or ("order" if self.order_id else ""),
            "converted_fen": self.converted_fen, "bonus_seconds": self.bonus_seconds, "upgraded_at": self.upgraded_at,
        }  # fmt: skip


@dataclass(frozen=True)
class SubscriptionAdded:
    subscription: Subscription
    created: bool  # False when this order id had already been credited


def _optional_int(value: object) -> int | None:
    return None if value is None or isinstance(value, bool) else int(value)  # type: ignore[call-overload]


def _parse(raw: object) -> Subscription:
    data: dict[str, Any] = orjson.loads(raw if isinstance(raw, str | bytes) else str(raw))
    return Subscription(
        id=str(data.get("id", "")),
        plan=str(data["plan"]),
        starts_at=int(data["starts_at"]),
        ends_at=int(data["ends_at"]),
        order_id=data.get("order_id") or None,
        fen=_optional_int(data.get("fen")),
        mode=str(data.get("mode") or ""),
        source=str(data.get("source") or ""),
        converted_fen=int(data.get("converted_fen") or 0),
        bonus_seconds=int(data.get("bonus_seconds") or 0),
        upgraded_at=_optional_int(data.get("upgraded_at")),
    )


def parse_subscription(raw: object) -> Subscription:
    """Parse one subscription JSON as stored in `{u:ID}:subs` (or returned by a script)."""
    return _parse(raw)


async def add_subscription(
    store: Store, user_id: int | str, plan_name: str, seconds: int, now: float, order_id: str | None = None
) -> SubscriptionAdded:
    """Add `seconds` of `plan_name`, stacked after the last non-free subscription; once per order id."""
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 < seconds <= MAX_SUBSCRIPTION_SECONDS:
        raise InvalidInput("A subscription length must be a positive whole number of seconds.", field="seconds")
    if await get_plan(store, plan_name) is None:
        raise NotFound(f"There is no plan named {plan_name!r}.")
    created, raw = await store.scripts.run(
        "add_subscription",
        [store.keys.subscriptions(user_id)],
        [plan_name, seconds, int(now), order_id or "", FREE_PLAN, secrets.token_hex(8)],
    )
    subscription = _parse(raw)
    # The plan's subscriber index (another slot: its own command); GT keeps the latest end if calls interleave.
    await store.redis.zadd(store.keys.plan_users(plan_name), {str(user_id): subscription.ends_at}, gt=True)
    return SubscriptionAdded(subscription=subscription, created=bool(created))


async def plan_subscribers(store: Store, plan_name: str, now: float) -> int:
    """Return how many users hold time on a plan that has not ended (from the index kept by add_subscription)."""
    return int(await store.redis.zcount(store.keys.plan_users(plan_name), f"({int(now)}", "+inf"))


async def index_plan_users(store: Store, user_id: int | str) -> None:
    """Rebuild a user's entries in the plans' subscriber indexes from its subscriptions (a one-off repair)."""
    ends: dict[str, int] = {}
    for subscription in await list_subscriptions(store, user_id):
        ends[subscription.plan] = max(ends.get(subscription.plan, 0), subscription.ends_at)
    for plan_name, ends_at in ends.items():
        await store.redis.zadd(store.keys.plan_users(plan_name), {str(user_id): ends_at}, gt=True)


async def list_subscriptions(store: Store, user_id: int | str) -> list[Subscription]:
    """Return every subscription of a user, ordered by end time."""
    return [_parse(raw) for raw in await store.redis.zrange(store.keys.subscriptions(user_id), 0, -1)]


def parse_subscriptions(raws: list[Any]) -> list[Subscription]:
    """Parse the JSON members read from `{u:ID}:subs`."""
    return [_parse(raw) for raw in raws]


@dataclass(frozen=True)
class PlanChoice:
    """The user's current subscription (None: none is active) and the plan it gives (free when none)."""

    subscription: Subscription | None
    plan: Plan


def plan_choice(plans: Mapping[str, Plan], current: object, plan_name: str) -> PlanChoice:
    """Read a `pick_plan` reply (core.store.lua.billing PICK_PLAN, the one rule for choosing the plan)."""
    subscription = _parse(current) if current else None
    plan = plans.get(plan_name) or plans.get(FREE_PLAN) or empty_free_plan()
    return PlanChoice(subscription, plan)


async def current_choice(store: Store, user_id: int | str, now: float) -> PlanChoice:
    """Return the user's current subscription and plan at `now` (never unlimited: free when nothing is active).

    One store call: the subscriptions are read and the plan chosen in the store by PICK_PLAN; the plans come from
    this process's copy of the runtime config (core.store.config_cache, at most ~1 s old).
    """
    plans = await cached_plans(store)
    current, plan_name = await store.scripts.run(
        "current_subscription", [store.keys.subscriptions(user_id)], [repr(now), FREE_PLAN, *plans]
    )
    return plan_choice(plans, current, str(plan_name))


async def current_plan(store: Store, user_id: int | str, now: float) -> Plan:
    """Return the plan of the subscription active at `now`, else `free` (never unlimited)."""
    return (await current_choice(store, user_id, now)).plan


async def active_subscription(store: Store, user_id: int | str, now: float) -> Subscription | None:
    """Return the paid subscription active at `now` (a free one only when no paid one is), or None."""
    return (await current_choice(store, user_id, now)).subscription
