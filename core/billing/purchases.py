"""Buying time: what a cycle costs and lasts, and where bought (or granted) time lands on the user's timeline.

The rule is written once, in Lua (core.store.lua.purchases GRANT_TIME), and run by every path that adds paid time:
crediting an order, redeeming a code, an invitation bonus, and the dry-run preview the pricing page shows.
  - the same plan extends from the current end;
  - a dearer plan (higher list rate) takes effect at once: the unused value of the current paid time (remaining
    seconds times its own price per second, in whole fen) buys extra seconds of the new plan at the new plan's
    price per second (amount / seconds of the purchase);
  - a cheaper plan (or one at the same rate) starts when the paid time already bought ends.
A plan's list rate is its cheapest price per second over the cycles it sells (fen / cycle seconds); a plan that
sells nothing has rate 0, so its time always queues. Time granted without payment (codes, bonuses) is valued at
the list rate.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.billing.plans import CYCLES, FREE_PLAN, Plan, cached_plans
from core.billing.subscriptions import Subscription, index_plan_users, list_subscriptions, parse_subscription
from core.days import SECONDS_PER_DAY
from core.errors import InvalidInput, NotFound, PlanNotForSale
from core.settings import Settings
from core.store.connection import Store


@dataclass(frozen=True)
class Price:
    """One cycle of one plan as sold now: integer fen for `seconds` of the plan."""

    plan: Plan
    cycle: str
    amount: int
    seconds: int


@dataclass(frozen=True)
class Grant:
    """Where granted time landed (or would land: a preview): the new segment, how it was placed, and whether it
    was added now (False: that order id had been granted before, `subscription` is the earlier one)."""

    subscription: Subscription
    mode: str
    created: bool


@dataclass(frozen=True)
class Term:
    """The user's plan now and until when it runs (end of the current run of that plan; None on free)."""

    plan: str
    ends_at: int | None
    subscription: Subscription | None


def cycle_seconds(settings: Settings, cycle: str) -> int:
    """Return the length of a billing cycle in seconds (CYCLE_*_DAYS)."""
    if cycle not in CYCLES:
        raise InvalidInput(f"cycle must be one of {', '.join(CYCLES)}.", field="cycle")
    return settings.cycle_days(cycle) * SECONDS_PER_DAY


def list_rate(plan: Plan, settings: Settings) -> float:
    """Return the plan's cheapest price per second over the cycles it sells (0 when it sells none)."""
    rates = [price / cycle_seconds(settings, cycle) for cycle, price in plan.prices.items() if price > 0]
    return min(rates, default=0.0)


def list_value(plan: Plan, seconds: int, settings: Settings) -> int:
    """Return what `seconds` of the plan are worth at its list rate, in whole fen."""
    return int(list_rate(plan, settings) * seconds)


def rate_args(plans: Mapping[str, Plan], settings: Settings) -> list[str]:
    """Return the plan, list-rate pairs the scripts take (repr keeps a float's every digit)."""
    return [part for plan in plans.values() for part in (plan.name, repr(list_rate(plan, settings)))]


async def price_of(store: Store, settings: Settings, plan_name: str, cycle: str) -> Price:
    """Return what one cycle of a plan costs now; unknown plan or cycle -> InvalidInput, unsold -> PlanNotForSale."""
    seconds = cycle_seconds(settings, cycle)
    plan = (await cached_plans(store)).get(plan_name)
    if plan is None:
        raise InvalidInput(f"There is no plan named {plan_name!r}.", field="plan")
    if plan.name == FREE_PLAN:
        raise PlanNotForSale("The free plan cannot be bought.", field="plan")
    if plan.hidden:
        raise PlanNotForSale(f"Plan {plan.name!r} is no longer sold.", field="plan")
    amount = plan.prices.get(cycle, 0)
    if amount <= 0:
        raise PlanNotForSale(f"Plan {plan.name!r} is not sold {cycle}.", field="cycle")
    return Price(plan=plan, cycle=cycle, amount=amount, seconds=seconds)


def grant_from_reply(reply: list[Any]) -> Grant:
    """Read GRANT_TIME's {status, subscription JSON, mode}."""
    status, raw, mode = reply
    return Grant(subscription=parse_subscription(raw), mode=str(mode), created=bool(status))


async def grant_time(
    store: Store, settings: Settings, user_id: int | str, plan_name: str, seconds: int, *, fen: int,
    order_id: str = "", source: str, now: float, dry: bool = False,
) -> Grant:  # fmt: skip
    """Place `seconds` of a plan worth `fen` on the user's timeline by the purchase rule (dry: only compute it)."""
    plans = await cached_plans(store)
    if plan_name not in plans:
        raise NotFound(f"There is no plan named {plan_name!r}.")
    if isinstance(seconds, bool) or not 0 < seconds <= 20 * 366 * SECONDS_PER_DAY:
        raise InvalidInput("A length must be a positive whole number of seconds.", field="seconds")
    reply = await store.scripts.run(
        "grant_time", [store.keys.subscriptions(user_id)],
        [int(now), plan_name, seconds, fen, secrets.token_hex(8), order_id, source, FREE_PLAN, "1" if dry else "0",
         *rate_args(plans, settings)],
    )  # fmt: skip
    grant = grant_from_reply(reply)
    if grant.created and not dry:
        await index_plan_users(store, user_id)  # who holds time on which plan (a plan in use is not deleted)
    return grant


async def preview_purchase(store: Store, settings: Settings, user_id: int | str, price: Price, now: float) -> Grant:
    """Say what buying `price` now would give (e.g. "Pro until 2027-01-31"), writing nothing."""
    return await grant_time(
        store, settings, user_id, price.plan.name, price.seconds, fen=price.amount, source="order", now=now, dry=True
    )


def term_of(subscriptions: list[Subscription], now: float) -> Term:
    """Return the plan active at `now` and the end of its run (same-plan segments back to back)."""
    paid = sorted((sub for sub in subscriptions if sub.plan != FREE_PLAN and sub.ends_at > now),
                  key=lambda sub: sub.starts_at)  # fmt: skip
    if not paid or not paid[0].active_at(now):
        return Term(plan=FREE_PLAN, ends_at=None, subscription=None)
    ends_at = paid[0].ends_at
    for sub in paid[1:]:
        if sub.plan != paid[0].plan or sub.starts_at != ends_at:
            break
        ends_at = sub.ends_at
    return Term(plan=paid[0].plan, ends_at=ends_at, subscription=paid[0])


async def current_term(store: Store, user_id: int | str, now: float) -> Term:
    """Return the user's current plan name and when it ends (a deleted plan counts as free)."""
    term = term_of(await list_subscriptions(store, user_id), now)
    if term.plan != FREE_PLAN and term.plan not in await cached_plans(store):
        return Term(plan=FREE_PLAN, ends_at=None, subscription=None)
    return term
