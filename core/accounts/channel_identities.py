"""Channel identities: a WeChat openid or a Telegram user id mapped to one account, and binding it to a web account.

``idx:chan:<channel>:<external id>`` -> user id. On first contact `identify` creates a channel-only account (no
email, phone or password; the free plan) and claims the identity with SET NX, so two processes taking the first two
messages at once agree on one account. The account lists its identities in ``{u:ID}:channels``.

Binding moves the identity onto a web account in one atomic step (`SET ... GET` on the identity key: every process
sees either the old or the new account, never neither). A channel-only account left behind is then folded into the
web account: its conversations, its paid time (stacked, credited once by a derived order id) and its channel
contexts move over, and it is marked merged and blocked. The fold is idempotent and recorded in
``{u:ID}:merging`` before the identity moves, so a crash half-way is finished by the next bind or contact.
Bind codes: the web account page shows an 8-digit code (``bind:<code>``, BIND_CODE_SECONDS); a wrong code counts
against the sending identity (BIND_MAX_FAILS per LOGIN_FAIL_WINDOW_SECONDS), so codes cannot be guessed.
"""

from __future__ import annotations

import asyncio
import secrets

from redis.typing import EncodableT, FieldT

from core.accounts.registration import create_account
from core.accounts.search import index_user
from core.accounts.users import User, get_user, require_user
from core.billing.plans import FREE_PLAN
from core.billing.subscriptions import add_subscription, list_subscriptions
from core.chat.conversations import CHANNELS
from core.errors import AlreadyRegistered, InvalidBindCode, InvalidInput, NotFound, TooManyAttempts
from core.settings import Settings
from core.store.connection import Store

EXTERNAL_ID_MAX_CHARS = 128
BIND_CODE_DIGITS = 8
BOT_CHANNELS = tuple(channel for channel in CHANNELS if channel not in ("web", "api"))


def _check(channel: str, external_id: str) -> None:
    if channel not in BOT_CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(BOT_CHANNELS)}.", field="channel")
    if not external_id or len(external_id) > EXTERNAL_ID_MAX_CHARS or not external_id.isprintable():
        raise InvalidInput("The channel identity is not valid.", field="external_id")


async def account_of(store: Store, channel: str, external_id: str) -> User | None:
    """Return the account this identity is mapped to, or None (never seen)."""
    _check(channel, external_id)
    user_id = await store.redis.get(store.keys.channel_identity(channel, external_id))
    return await get_user(store, str(user_id)) if user_id else None


async def identify(
    store: Store, settings: Settings, channel: str, external_id: str, *, now: float, name: str = "", lang: str = ""
) -> User:
    """Return the account of a channel identity, creating a channel-only account on first contact."""
    _check(channel, external_id)
    key = store.keys.channel_identity(channel, external_id)
    for _ in range(50):
        user_id = await store.redis.get(key)
        if user_id is None:
            template = User(
                id=0, email="", phone="", password_hash="", name=name[:64], role="user", blocked=False,
                created_at=now, last_login_at=now, lang=lang, invite_code="", inviter_id=None, reset_chances=0,
                invitee_count=0,
            )  # fmt: skip
            try:
                user = await create_account(store, settings, key, template)
            except AlreadyRegistered:
                continue  # another process created it a moment ago: take that one
            await store.redis.hset(store.keys.channel_identities(user.id), channel, external_id)
            await index_user(store, user.id)
            return user
        found = await get_user(store, str(user_id))
        if found is not None:
            await finish_merges(store, found.id, now)
            return found
        await asyncio.sleep(0.01)  # claimed by a process that is writing the record right now
    raise RuntimeError(f"the account of {channel} identity {external_id!r} was never written")


async def identities_of(store: Store, user_id: int) -> dict[str, str]:
    """Return channel -> external id of the identities bound to this account."""
    found: dict[str, str] = await store.redis.hgetall(store.keys.channel_identities(user_id))  # type: ignore[assignment]
    return {str(channel): str(external_id) for channel, external_id in found.items()}


async def issue_bind_code(store: Store, settings: Settings, user_id: int) -> str:
    """Return a fresh bind code for a web account (its previous one stops working)."""
    await require_user(store, user_id)
    ttl = settings.BIND_CODE_SECONDS
    previous = await store.redis.get(store.keys.user_bind_code(user_id))
    if previous:
        await store.redis.delete(store.keys.bind_code(str(previous)))
    for _ in range(20):
        code = "".join(secrets.choice("0123456789") for _ in range(BIND_CODE_DIGITS))
        if await store.redis.set(store.keys.bind_code(code), user_id, nx=True, ex=ttl):
            await store.redis.set(store.keys.user_bind_code(user_id), code, ex=ttl)
            return code
    raise RuntimeError("could not find a free bind code")


async def bind_with_code(
    store: Store, settings: Settings, channel: str, external_id: str, code: str, *, now: float
) -> User:
    """Move a channel identity onto the web account that showed `code`; return that account."""
    _check(channel, external_id)
    fails = store.keys.bind_fails(channel, external_id)
    window, limit = settings.LOGIN_FAIL_WINDOW_SECONDS, settings.BIND_MAX_FAILS
    counted, value = await store.scripts.run("take_attempt", [fails], [window, limit])
    if not counted:
        raise TooManyAttempts(retry_after=max(1, int(value)))
    cleaned = "".join(code.split())
    user_id = await store.redis.get(store.keys.bind_code(cleaned)) if cleaned.isdigit() else None
    if user_id is None:
        raise InvalidBindCode(field="code")
    await store.scripts.run("return_attempt", [fails])  # a right code is no failed attempt
    user = await bind_identity(store, channel, external_id, int(user_id), now=now)
    await store.redis.delete(store.keys.bind_code(cleaned), store.keys.user_bind_code(user.id))
    return user


async def bind_identity(store: Store, channel: str, external_id: str, user_id: int, *, now: float) -> User:
    """Move the identity onto account `user_id` atomically; fold a channel-only account it leaves into it."""
    _check(channel, external_id)
    target = await require_user(store, user_id)
    key = store.keys.channel_identity(channel, external_id)
    current = await store.redis.get(key)
    previous = await get_user(store, str(current)) if current and int(current) != target.id else None
    folding = previous is not None and not previous.email and not previous.phone
    if folding:
        assert previous is not None
        await store.redis.sadd(store.keys.merging(target.id), previous.id)  # before the move: resumable
    await store.redis.set(key, target.id, get=True)
    await store.redis.hset(store.keys.channel_identities(target.id), channel, external_id)
    if previous is not None:
        await store.redis.hdel(store.keys.channel_identities(previous.id), channel)
        await index_user(store, previous.id)
    await finish_merges(store, target.id, now)
    await index_user(store, target.id)
    return await require_user(store, target.id)


async def finish_merges(store: Store, user_id: int, now: float) -> None:
    """Fold every channel-only account recorded in ``{u:ID}:merging`` into this account (idempotent)."""
    for source in await store.redis.smembers(store.keys.merging(user_id)):
        await _fold(store, int(source), user_id, now)
        await index_user(store, int(source))
        await store.redis.srem(store.keys.merging(user_id), source)


async def _fold(store: Store, source: int, target: int, now: float) -> None:
    """Move conversations, paid time, channel contexts and identities of `source` onto `target`, then retire it."""
    keys = store.keys
    listed: list[tuple[str, float]] = await store.redis.zrange(  # type: ignore[assignment]
        keys.conversations(source), 0, -1, withscores=True
    )
    for cid, score in listed:
        meta: dict[FieldT, EncodableT] = await store.redis.hgetall(keys.conversation(source, cid))  # type: ignore[assignment]
        messages = await store.redis.lrange(keys.messages(source, cid), 0, -1)
        async with store.redis.pipeline(transaction=True) as pipe:  # the target's keys share one hash tag
            if meta:
                pipe.hset(keys.conversation(target, cid), mapping=meta)
                pipe.delete(keys.messages(target, cid))
                if messages:
                    pipe.rpush(keys.messages(target, cid), *messages)
                pipe.zadd(keys.conversations(target), {cid: score})
            await pipe.execute()
        async with store.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.conversation(source, cid), keys.messages(source, cid))
            pipe.zrem(keys.conversations(source), cid)
            await pipe.execute()
    for channel in CHANNELS:
        context = await store.redis.get(keys.channel_context(source, channel))
        if context:
            await store.redis.set(keys.channel_context(target, channel), context, nx=True)
    for sub in await list_subscriptions(store, source):
        seconds = int(sub.ends_at - max(now, sub.starts_at))
        if sub.plan != FREE_PLAN and seconds > 0:
            try:
                await add_subscription(store, target, sub.plan, seconds, now, order_id=f"merge:{sub.id}")
            except NotFound:  # its plan was deleted since: that time was worth the free plan, which both have
                continue
    identities: dict[FieldT, EncodableT] = await store.redis.hgetall(keys.channel_identities(source))  # type: ignore[assignment]
    if identities:
        await store.redis.hset(keys.channel_identities(target), mapping=identities)
        for moved, external_id in identities.items():
            await store.redis.set(keys.channel_identity(str(moved), str(external_id)), target)
    async with store.redis.pipeline(transaction=True) as pipe:
        pipe.delete(keys.subscriptions(source), keys.channel_identities(source))
        pipe.hset(keys.user(source), mapping={"blocked": 1, "merged_into": target})
        await pipe.execute()
