"""Invitation rewards and the commission ledger.

Signing up with someone's invitation code records the inviter (`inviter_id`, `{u:ID}:invitees`, invitee_count);
the reward comes later, once the invitee has proved an address with a code (registration, sign-in or binding by
code) or paid an order, so that fake sign-ups earn nothing. Each invitee is rewarded once ever, and each inviter at
most INVITE_REWARDS_PER_DAY times per UTC day (later ones are recorded as capped): INVITE_RESET_CHANCES reset
chances, and INVITE_BONUS_DAYS of INVITE_BONUS_PLAN (empty: the cheapest plan on sale) for both the inviter and
the invitee. One Lua script in the inviter's slot decides and grants (GRANT_INVITE_REWARD); the invitee's bonus
is a grant idempotent by its id, so a retry completes it.

Commission: INVITE_COMMISSION_PERCENT of every order an invitee pays within INVITE_COMMISSION_DAYS of signing up
(0: no limit) goes into the inviter's ledger (`{u:ID}:commissions`, once per order) and total (`commission_fen`).
Paying it out is the operator's business; the ledger is what the account page and the dashboard show.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import orjson

from core.billing.orders import Order
from core.billing.plans import FREE_PLAN, Plan, cached_plans
from core.billing.purchases import grant_time, list_rate, list_value, rate_args
from core.days import SECONDS_PER_DAY, day_stamp
from core.settings import Settings
from core.site.config import runtime_settings
from core.store.connection import Store

DAY_COUNTER_TTL = 2 * SECONDS_PER_DAY


@dataclass(frozen=True)
class InviteReward:
    invitee_id: int
    status: str  # granted | capped
    trigger: str
    at: float
    reset_chances: int = 0
    bonus_ends_at: int | None = None


@dataclass(frozen=True)
class Commission:
    order_id: str
    invitee_id: int
    amount: int
    percent: int
    commission: int
    at: float

    def public(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "invitee_id": self.invitee_id, "amount": self.amount,
                "percent": self.percent, "commission": self.commission, "at": self.at}  # fmt: skip


def bonus_plan(plans: dict[str, Plan], settings: Settings) -> Plan | None:
    """The plan bonus days are given in: INVITE_BONUS_PLAN, else the cheapest plan on sale; None when no bonus."""
    if settings.INVITE_BONUS_DAYS <= 0:
        return None
    if settings.INVITE_BONUS_PLAN:
        return plans.get(settings.INVITE_BONUS_PLAN)
    on_sale = [plan for plan in plans.values() if plan.name != FREE_PLAN and list_rate(plan, settings) > 0]
    return min(on_sale, key=lambda plan: (list_rate(plan, settings), plan.name), default=None)


def _reward(raw: str | bytes) -> InviteReward:
    data = orjson.loads(raw)
    subscription = data.get("subscription") or {}
    return InviteReward(
        invitee_id=int(data["invitee_id"]), status=str(data["status"]), trigger=str(data.get("trigger", "")),
        at=float(data.get("at", 0)), reset_chances=int(data.get("reset_chances") or 0),
        bonus_ends_at=int(subscription["ends_at"]) if subscription else None,
    )  # fmt: skip


async def reward_invitation(
    store: Store, settings: Settings, invitee_id: int, *, trigger: str, now: float
) -> InviteReward | None:
    """Reward the inviter of `invitee_id` (once ever, within the daily cap), and give the invitee's bonus; None when
    the account was not invited. `trigger` says what proved the invitee real (register_code, login_code, bind_code,
    paid_order)."""
    settings = await runtime_settings(store, settings)  # the dashboard's reward settings
    found = await store.redis.hget(store.keys.user(invitee_id), "inviter_id")
    if not found:
        return None
    inviter = str(found)
    plans = await cached_plans(store)
    plan = bonus_plan(plans, settings)
    seconds = settings.INVITE_BONUS_DAYS * SECONDS_PER_DAY if plan else 0
    fen = list_value(plan, seconds, settings) if plan else 0
    keys = store.keys
    _, raw = await store.scripts.run(
        "grant_invite_reward",
        [keys.invite_rewards(inviter), keys.invite_reward_day(inviter, day_stamp(now)), keys.user(inviter),
         keys.subscriptions(inviter)],
        [invitee_id, int(now), settings.INVITE_REWARDS_PER_DAY, settings.INVITE_RESET_CHANCES,
         plan.name if plan else "", seconds, fen, secrets.token_hex(8), trigger, FREE_PLAN, DAY_COUNTER_TTL,
         *rate_args(plans, settings)],
    )  # fmt: skip
    reward = _reward(raw)
    if reward.status == "granted" and plan is not None:
        await grant_time(store, settings, invitee_id, plan.name, seconds, fen=fen, order_id=f"invited:{invitee_id}",
                         source="invite", now=now)  # fmt: skip
    return reward


async def add_commission(store: Store, settings: Settings, order: Order) -> Commission | None:
    """Credit the inviter of a paid order's owner with the commission (once per order); None when none is due."""
    settings = await runtime_settings(store, settings)  # the dashboard's commission settings
    if settings.INVITE_COMMISSION_PERCENT <= 0 or order.status != "paid":
        return None
    found, signed_up = await store.redis.hmget(store.keys.user(order.user_id), ["inviter_id", "created_at"])
    inviter = str(found or "")
    paid_at = order.paid_at or order.updated_at
    window = settings.INVITE_COMMISSION_DAYS * SECONDS_PER_DAY
    if not inviter or (window and paid_at - float(signed_up or 0) > window):
        return None
    commission = Commission(
        order_id=order.id, invitee_id=order.user_id, amount=order.amount, percent=settings.INVITE_COMMISSION_PERCENT,
        commission=order.amount * settings.INVITE_COMMISSION_PERCENT // 100, at=paid_at,
    )  # fmt: skip
    if commission.commission <= 0:
        return None
    await store.scripts.run("add_commission", [store.keys.commissions(inviter), store.keys.user(inviter)],
                            [order.id, orjson.dumps(commission.public()), commission.commission])  # fmt: skip
    return commission


async def list_commissions(store: Store, user_id: int) -> list[Commission]:
    """Return an inviter's commission ledger, newest first."""
    entries = [orjson.loads(raw) for raw in await store.redis.hvals(store.keys.commissions(user_id))]
    return sorted((Commission(**entry) for entry in entries), key=lambda entry: entry.at, reverse=True)


async def list_rewards(store: Store, user_id: int) -> list[InviteReward]:
    """Return the invitation rewards an inviter got (or that were capped), newest first."""
    rewards = [_reward(raw) for raw in await store.redis.hvals(store.keys.invite_rewards(user_id))]
    return sorted(rewards, key=lambda reward: reward.at, reverse=True)
