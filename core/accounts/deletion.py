"""Deleting an account and all its data (the dashboard's "delete user").

Every key is found from what the account itself records (its sessions, conversations, API keys, identities,
subscriptions), the model and plan config and the retention windows (usage days, daily token days) — never by a
keyspace scan. The account is blocked and signed out first, so nothing new is written while it is taken apart; the
user record and the addresses that sign in to it go last, so a crash half-way leaves a blocked account that a
second delete finishes.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from core.accounts.api_keys import revoke_all_api_keys
from core.accounts.search import unindex_user
from core.accounts.sessions import revoke_sessions
from core.accounts.users import User, require_user
from core.billing.plans import list_plans
from core.billing.usage import RETENTION_DAYS
from core.chat.conversations import CHANNELS
from core.days import day_stamp
from core.relay.catalogue import list_models
from core.store.connection import Store

BATCH = 500
SECONDS_PER_DAY = 86_400


async def _owned_keys(store: Store, user_id: int, now: float) -> list[str]:
    """Return every per-user key the account may have (deleting a missing key costs nothing)."""
    keys = store.keys
    conversations: list[str] = await store.redis.zrange(keys.conversations(user_id), 0, -1)  # type: ignore[assignment]
    orders: list[str] = await store.redis.zrange(keys.user_orders(user_id), 0, -1)  # type: ignore[assignment]
    sessions: list[str] = await store.redis.zrange(keys.sessions(user_id), 0, -1)  # type: ignore[assignment]
    models = {model.id for model in await list_models(store)} | {
        model for plan in await list_plans(store) for model in plan.limits
    }
    owned = [
        keys.channel_identities(user_id), keys.merging(user_id), keys.user_bind_code(user_id), keys.invitees(user_id),
        keys.sessions(user_id), keys.subscriptions(user_id), keys.conversations(user_id), keys.api_keys(user_id),
        keys.presets(user_id), keys.notice_seen(user_id), keys.user_orders(user_id), keys.order_rate(user_id),
        keys.redemptions(user_id), keys.redeem_fails_user(user_id), keys.invite_rewards(user_id),
        keys.commissions(user_id),
    ]  # fmt: skip
    owned += [key for oid in orders for key in (keys.order(user_id, oid), keys.order_callbacks(user_id, oid))]
    owned += [keys.session(user_id, sid) for sid in sessions]
    owned += [key for cid in conversations for key in (keys.conversation(user_id, cid), keys.messages(user_id, cid))]
    owned += [key for channel in CHANNELS for key in (keys.channel_context(user_id, channel),
                                                       keys.channel_model(user_id, channel))]  # fmt: skip
    owned += [keys.quota_window(user_id, model) for model in sorted(models)]
    days = [day_stamp(now - back * SECONDS_PER_DAY) for back in range(RETENTION_DAYS + 1)]
    owned += [keys.user_usage(user_id, day) for day in days]
    owned += [keys.daily_tokens(user_id, day) for day in days[:3]]
    owned += [keys.invite_reward_day(user_id, day) for day in days[:3]]
    return owned


async def _delete(store: Store, keys: Iterable[str]) -> None:
    batch: list[str] = []
    for key in keys:
        batch.append(key)
        if len(batch) == BATCH:
            await store.redis.delete(*batch)
            batch = []
    if batch:
        await store.redis.delete(*batch)


async def delete_account(store: Store, user_id: int, now: float) -> User:
    """Delete the account and everything it owns; return the record as it was. Repeatable after a crash."""
    user = await require_user(store, user_id)
    keys = store.keys
    await store.redis.hset(keys.user(user_id), "blocked", 1)  # nothing new while it is taken apart
    await revoke_sessions(store, user_id)
    await revoke_all_api_keys(store, user_id)
    channels: dict[str, str] = await store.redis.hgetall(keys.channel_identities(user_id))  # type: ignore[assignment]
    bind_code = await store.redis.get(keys.user_bind_code(user_id))
    subscriptions: list[str] = await store.redis.zrange(keys.subscriptions(user_id), 0, -1)  # type: ignore[assignment]
    orders: list[str] = await store.redis.zrange(keys.user_orders(user_id), 0, -1)  # type: ignore[assignment]
    plan_names = {plan.name for plan in await list_plans(store)}
    await unindex_user(store, user_id)
    await _delete(store, await _owned_keys(store, user_id, now))
    # Global indexes: one command each (other hash slots).
    for channel, external_id in channels.items():
        if await store.redis.get(keys.channel_identity(channel, external_id)) == str(user_id):
            await store.redis.delete(keys.channel_identity(channel, external_id))
    if bind_code:
        await store.redis.delete(keys.bind_code(str(bind_code)))
    for plan_name in plan_names | _plans_named(subscriptions):
        await store.redis.zrem(keys.plan_users(plan_name), str(user_id))
    await store.redis.zrem(keys.active_users(), str(user_id))
    for order_id in orders:  # the revenue ledger keeps the money; the orders go with the account
        await store.redis.zrem(keys.orders_index(), order_id)
        await store.redis.zrem(keys.pending_orders(), order_id)
        await store.redis.delete(keys.order_owner(order_id))
    if user.inviter_id is not None:
        await store.redis.zrem(keys.invitees(user.inviter_id), str(user_id))
    for index in _address_keys(store, user):
        if await store.redis.get(index) == str(user_id):
            await store.redis.delete(index)
    await store.redis.zrem(keys.users_index(), str(user_id))
    await store.redis.delete(keys.user(user_id))
    return user


def _plans_named(subscriptions: list[str]) -> set[str]:
    names: set[str] = set()
    for raw in subscriptions:
        plan = orjson.loads(raw).get("plan")
        if isinstance(plan, str):
            names.add(plan)
    return names


def _address_keys(store: Store, user: User) -> list[str]:
    keys = []
    if user.email:
        keys.append(store.keys.email_index(user.email))
    if user.phone:
        keys.append(store.keys.phone_index(user.phone))
    if user.invite_code:
        keys.append(store.keys.invite_index(user.invite_code))
    return keys
