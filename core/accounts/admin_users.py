"""Users as the dashboard sees and changes them: lists (newest, recently active, or found by a search), one user's
whole picture, and the actions an operator takes (block, grant a plan, add reset chances, sign out everywhere,
delete). Every action is written to the audit log with the value before and after.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from typing import Any

from core.accounts.api_keys import list_api_keys
from core.accounts.deletion import delete_account
from core.accounts.search import search_users
from core.accounts.sessions import Session, list_sessions, revoke_sessions
from core.accounts.users import User, require_user, set_blocked, user_from_fields
from core.billing.orders import list_orders
from core.billing.plans import FREE_PLAN, cached_plans, get_plan
from core.billing.purchases import term_of
from core.billing.redemption import list_redemptions
from core.billing.subscriptions import (
    PlanChoice,
    Subscription,
    add_subscription,
    current_choice,
    list_subscriptions,
    plan_choice,
)
from core.billing.usage import UsageRow, user_usage
from core.errors import Forbidden, InvalidInput, NotFound
from core.site.audit import Actor, record_audit
from core.store.connection import Store

SORTS = ("created", "active")
MAX_PAGE = 100
MAX_GRANT_DAYS = 3660
MAX_RESET_CHANCES = 1000
DETAIL_USAGE_DAYS = 30
DETAIL_INVITEES = 100
DETAIL_ORDERS = 100


@dataclass(frozen=True)
class UserRow:
    user: User
    plan: str
    last_active_at: float | None

    def public(self) -> dict[str, Any]:
        return {**self.user.public(), "plan": self.plan, "last_active_at": self.last_active_at}


@dataclass(frozen=True)
class UsersPage:
    users: list[UserRow]
    next_cursor: str | None


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.isdigit() or len(cursor) > 9:
        raise InvalidInput("The cursor is not valid.", field="cursor")
    return int(cursor)


async def _rows(store: Store, user_ids: list[int | str], now: float) -> list[UserRow]:
    """Read the records, current plans and last activity of several users in two round trips."""
    plans = await cached_plans(store)
    async with store.redis.pipeline(transaction=False) as pipe:
        for user_id in user_ids:
            pipe.hgetall(store.keys.user(user_id))
            pipe.zscore(store.keys.active_users(), str(user_id))
        replies = await pipe.execute()
    calls = [
        ("current_subscription", [store.keys.subscriptions(uid)], [repr(now), FREE_PLAN, *plans]) for uid in user_ids
    ]
    choices = await store.scripts.run_all(calls) if calls else []
    rows = []
    for index, (current, plan_name) in enumerate(choices):
        user = user_from_fields(replies[2 * index])
        if user is not None:
            active = replies[2 * index + 1]
            choice = plan_choice(plans, current, str(plan_name))
            rows.append(UserRow(user, choice.plan.name, float(active) if active is not None else None))
    return rows


async def list_users_page(
    store: Store, *, query: str = "", cursor: str | None = None, sort: str = "created", limit: int = 50, now: float
) -> UsersPage:
    """Return a page of users: found by `query` (a prefix of email, phone, name, id, invitation code or channel
    identity), else all of them newest first (`created`) or most recently active first (`active`)."""
    if sort not in SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(SORTS)}.", field="sort")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be from 1 to {MAX_PAGE}.", field="limit")
    if query.strip():
        found = await search_users(store, query, cursor, limit)
        return UsersPage(await _rows(store, list(found.user_ids), now), found.next_cursor)
    offset = _offset(cursor)
    index = store.keys.users_index() if sort == "created" else store.keys.active_users()
    ids: list[int | str] = await store.redis.zrevrange(index, offset, offset + limit)  # type: ignore[assignment]
    more = len(ids) > limit
    return UsersPage(await _rows(store, ids[:limit], now), str(offset + limit) if more else None)


@dataclass(frozen=True)
class UserDetail:
    user: User
    choice: PlanChoice
    subscriptions: list[Subscription]
    usage: list[UsageRow]
    sessions: list[Session]
    invitees: list[dict[str, Any]]
    channels: dict[str, str]
    api_keys: int
    last_active_at: float | None
    orders: list[dict[str, Any]]
    redemptions: list[dict[str, Any]]
    now: float

    def public(self) -> dict[str, Any]:
        term = term_of(self.subscriptions, self.now)  # the end of the current run of that plan, renewals included
        return {
            "user": self.user.public(),
            "plan": {"name": self.choice.plan.name, "title": self.choice.plan.title,
                     "ends_at": term.ends_at if term.plan == self.choice.plan.name else None},
            "subscriptions": [asdict(sub) for sub in self.subscriptions],
            "usage": [row.public() for row in self.usage],
            "sessions": [session.public() for session in self.sessions],
            "invitees": self.invitees,
            "channels": self.channels,
            "api_keys": self.api_keys,
            "last_active_at": self.last_active_at,
            "orders": self.orders,
            "redemptions": self.redemptions,
        }  # fmt: skip


async def _invitees(store: Store, user_id: int) -> list[dict[str, Any]]:
    listed: list[tuple[str, float]] = await store.redis.zrevrange(  # type: ignore[assignment]
        store.keys.invitees(user_id), 0, DETAIL_INVITEES - 1, withscores=True
    )
    async with store.redis.pipeline(transaction=False) as pipe:
        for invitee_id, _ in listed:
            pipe.hmget(store.keys.user(invitee_id), ["email", "phone", "name"])
        records = await pipe.execute()
    return [
        {"id": int(invitee_id), "joined_at": joined, "email": email or "", "phone": phone or "", "name": name or ""}
        for (invitee_id, joined), (email, phone, name) in zip(listed, records, strict=True)
    ]


async def user_detail(store: Store, user_id: int, now: float) -> UserDetail:
    """Return everything the dashboard shows about one user."""
    user = await require_user(store, user_id)
    channels: dict[str, str] = await store.redis.hgetall(store.keys.channel_identities(user_id))  # type: ignore[assignment]
    active = await store.redis.zscore(store.keys.active_users(), str(user_id))
    return UserDetail(
        user=user,
        choice=await current_choice(store, user_id, now),
        subscriptions=await list_subscriptions(store, user_id),
        usage=await user_usage(store, user_id, DETAIL_USAGE_DAYS, now),
        sessions=await list_sessions(store, user_id, now),
        invitees=await _invitees(store, user_id),
        channels=channels,
        api_keys=len(await list_api_keys(store, user_id)),
        last_active_at=float(active) if active is not None else None,
        orders=[order.public() for order in await list_orders(store, user_id, DETAIL_ORDERS)],
        redemptions=[item.public() for item in await list_redemptions(store, user_id)],
        now=now,
    )


async def block_user(store: Store, actor: Actor, user_id: int, blocked: bool, now: float) -> User:
    """Block (every session ends at once) or unblock a user."""
    if blocked and user_id == actor.user_id:
        raise Forbidden("You cannot block your own account.")
    before = await require_user(store, user_id)
    user = await set_blocked(store, user_id, blocked)
    if before.blocked != blocked:
        await record_audit(
            store, actor, "user.block" if blocked else "user.unblock", f"user:{user_id}",
            {"blocked": before.blocked}, {"blocked": blocked}, now,
        )  # fmt: skip
    return user


async def grant_plan(store: Store, actor: Actor, user_id: int, plan_name: str, days: int, now: float) -> Subscription:
    """Give a user `days` of a paid plan, stacked like a purchase (after their current paid time)."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_GRANT_DAYS:
        raise InvalidInput(f"days must be a whole number from 1 to {MAX_GRANT_DAYS}.", field="days")
    if plan_name == FREE_PLAN:
        raise InvalidInput("Everyone has the free plan; grant a paid one.", field="plan")
    if await get_plan(store, plan_name) is None:
        raise NotFound(f"There is no plan named {plan_name!r}.", field="plan")
    await require_user(store, user_id)
    grant_id = f"grant:{secrets.token_hex(6)}"
    added = await add_subscription(store, user_id, plan_name, days * 86_400, now, order_id=grant_id)
    sub = added.subscription
    await record_audit(
        store, actor, "user.grant", f"user:{user_id}", None,
        {"plan": plan_name, "days": days, "starts_at": sub.starts_at, "ends_at": sub.ends_at, "grant": grant_id}, now,
    )  # fmt: skip
    return sub


async def add_reset_chances(store: Store, actor: Actor, user_id: int, add: int, now: float) -> int:
    """Give a user more reset chances; return how many they have now."""
    if isinstance(add, bool) or not isinstance(add, int) or not 1 <= add <= MAX_RESET_CHANCES:
        raise InvalidInput(f"add must be a whole number from 1 to {MAX_RESET_CHANCES}.", field="add")
    before = await require_user(store, user_id)
    after = int(await store.redis.hincrby(store.keys.user(user_id), "reset_chances", add))
    await record_audit(
        store, actor, "user.reset_chances", f"user:{user_id}",
        {"reset_chances": before.reset_chances}, {"reset_chances": after}, now,
    )  # fmt: skip
    return after


async def sign_out_everywhere(store: Store, actor: Actor, user_id: int, now: float) -> int:
    """End every session of a user; return how many ended."""
    await require_user(store, user_id)
    ended = await revoke_sessions(store, user_id)
    await record_audit(store, actor, "user.revoke_sessions", f"user:{user_id}", None, {"sessions_ended": ended}, now)
    return ended


async def remove_user(store: Store, actor: Actor, user_id: int, now: float) -> None:
    """Delete a user and all its data (never the acting admin's own account)."""
    if user_id == actor.user_id:
        raise Forbidden("You cannot delete your own account.")
    user = await delete_account(store, user_id, now)
    await record_audit(
        store, actor, "user.delete", f"user:{user_id}",
        {"id": user.id, "email": user.email, "phone": user.phone, "name": user.name}, None, now,
    )  # fmt: skip
