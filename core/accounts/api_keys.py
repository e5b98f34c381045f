"""Personal API keys (``sk-...``) for OpenAI clients: shown once, stored only as a SHA-256 digest.

Keys: ``apikey:<sha256 hex>`` -> ``"<uid>:<key id>"`` (global lookup, O(1)) and ``{u:ID}:keys`` hash
key id -> meta JSON (id, name, prefix, created_at, last_used_at, digest). The user's hash is the source of truth:
a digest entry whose meta is gone resolves to nothing, so revoking deletes the meta first.
Lookup is by digest, never by comparing secrets, so it leaks no timing about the key.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio.client import Pipeline

from core.billing.plans import FREE_PLAN, Plan, cached_plans
from core.billing.quotas import Consumption, consume_keys, plan_table
from core.billing.subscriptions import PlanChoice, Subscription, parse_subscriptions, plan_choice
from core.days import day_stamp
from core.errors import InvalidInput, LimitReached, NotFound
from core.store.connection import Store

KEY_PREFIX = "sk-"
KEY_RANDOM_CHARS = 48
MAX_KEYS_PER_USER = 20
NAME_MAX_CHARS = 64
TOUCH_INTERVAL_SECONDS = 60
MAX_REMEMBERED_OWNERS = 10_000  # digest -> owner entries this process keeps (Store.api_key_owners)


@dataclass(frozen=True)
class ApiKeyMeta:
    id: str
    name: str
    prefix: str
    created_at: float
    last_used_at: float | None = None
    digest: str = ""

    def public(self) -> dict[str, Any]:
        """The fields a browser may see (no digest, no secret)."""
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
        }


@dataclass(frozen=True)
class ApiKeyOwner:
    user_id: int
    key_id: str


@dataclass(frozen=True)
class ApiKeyCaller:
    owner: ApiKeyOwner
    user_fields: dict[str, str]  # the owner's user hash (core.accounts.users.user_from_fields)
    subscriptions: list[Subscription]  # the owner's subscriptions ending after `now`
    choice: PlanChoice  # the current subscription and plan (core.billing.subscriptions.plan_choice)


def digest_key(key: str) -> str:
    """Return the SHA-256 hex digest under which a key is stored."""
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """Shorten a key for display, e.g. ``sk-abc…wxyz``."""
    return f"{key[:6]}…{key[-4:]}"


def looks_like_api_key(value: str) -> bool:
    """Tell an ``sk-`` key from other bearer tokens (JWTs) without touching the store."""
    return value.startswith(KEY_PREFIX) and len(value) == len(KEY_PREFIX) + KEY_RANDOM_CHARS


def _load(raw: str | bytes) -> ApiKeyMeta:
    data = orjson.loads(raw)
    return ApiKeyMeta(
        id=data["id"],
        name=data["name"],
        prefix=data["prefix"],
        created_at=float(data["created_at"]),
        last_used_at=data.get("last_used_at"),
        digest=data.get("digest", ""),
    )


def _dump(meta: ApiKeyMeta) -> str:
    return orjson.dumps({**meta.public(), "digest": meta.digest}).decode()


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > NAME_MAX_CHARS:
        raise InvalidInput(f"The key name must be 1 to {NAME_MAX_CHARS} characters.", field="name")
    return cleaned


async def create_api_key(store: Store, user_id: int | str, name: str, now: float) -> tuple[ApiKeyMeta, str]:
    """Create a key; return its meta and the plaintext, which is never stored and cannot be shown again."""
    cleaned = _clean_name(name)
    # 36 random bytes are exactly 48 url-safe base64 characters.
    plaintext = KEY_PREFIX + secrets.token_urlsafe(KEY_RANDOM_CHARS * 3 // 4)
    meta = ApiKeyMeta(
        id=secrets.token_hex(6),
        name=cleaned,
        prefix=display_prefix(plaintext),
        created_at=now,
        digest=digest_key(plaintext),
    )
    keys_key = store.keys.api_keys(user_id)

    async def write(pipe: Pipeline) -> None:
        if await pipe.hlen(keys_key) >= MAX_KEYS_PER_USER:
            raise LimitReached(f"At most {MAX_KEYS_PER_USER} API keys per account.", limit=MAX_KEYS_PER_USER)
        pipe.multi()
        pipe.hset(keys_key, meta.id, _dump(meta))

    # The meta and the global digest entry live in different hash slots, so they are two steps; the meta goes
    # first and is authoritative, which makes a half-done create an unusable (and revocable) key, never a live one
    # without a listing.
    await store.redis.transaction(write, keys_key)
    await store.redis.set(store.keys.api_key_digest(meta.digest), f"{user_id}:{meta.id}")
    return meta, plaintext


async def list_api_keys(store: Store, user_id: int | str) -> list[ApiKeyMeta]:
    """List a user's keys, newest first (metadata only)."""
    metas = [_load(raw) for raw in (await store.redis.hvals(store.keys.api_keys(user_id)))]
    return sorted(metas, key=lambda meta: meta.created_at, reverse=True)


async def revoke_api_key(store: Store, user_id: int | str, key_id: str) -> None:
    """Delete a key: it stops working at once; NotFound if the user has no such key."""
    keys_key = store.keys.api_keys(user_id)

    async def write(pipe: Pipeline) -> ApiKeyMeta:
        raw = await pipe.hget(keys_key, key_id)
        if raw is None:
            raise NotFound("API key not found.")
        pipe.multi()
        pipe.hdel(keys_key, key_id)
        return _load(raw)

    meta: ApiKeyMeta = await store.redis.transaction(write, keys_key, value_from_callable=True)
    if meta.digest:
        await store.redis.delete(store.keys.api_key_digest(meta.digest))


async def revoke_all_api_keys(store: Store, user_id: int | str) -> int:
    """Delete every key of a user (a password reset; a password change when asked); return how many there were."""
    keys_key = store.keys.api_keys(user_id)

    async def write(pipe: Pipeline) -> list[ApiKeyMeta]:
        metas = [_load(raw) for raw in (await pipe.hgetall(keys_key)).values()]
        pipe.multi()
        pipe.delete(keys_key)
        return metas

    metas: list[ApiKeyMeta] = await store.redis.transaction(write, keys_key, value_from_callable=True)
    digests = [store.keys.api_key_digest(meta.digest) for meta in metas if meta.digest]
    for digest_key_name in digests:  # one key each: the digest index lives in other cluster slots
        await store.redis.delete(digest_key_name)
    return len(metas)


async def resolve_api_key(store: Store, key: str, now: float | None = None) -> ApiKeyOwner | None:
    """Return the owner of a live key, or None; record its use at most once a minute."""
    caller = await resolve_api_key_caller(store, key, now)
    return caller.owner if caller else None


async def resolve_api_key_caller(store: Store, key: str, now: float | None = None) -> ApiKeyCaller | None:
    """Return the owner of a live key, the owner's user fields, subscriptions and plan in one round trip.

    The digest -> owner entry never changes for a key (keys are random and never reissued), so this process
    remembers it once the key was seen live; the key's meta, the user record and the subscriptions are read on
    every call, so a revoked key or a blocked user is refused on the very next request.
    """
    if not looks_like_api_key(key):
        return None
    moment = time.time() if now is None else now
    digest = digest_key(key)
    owner = store.api_key_owners.get(digest)
    if owner is None:
        stored = await store.redis.get(store.keys.api_key_digest(digest))
        if not stored:
            return None
        owner = str(stored)
    plans = await cached_plans(store)
    _, key_id, keys = _owner_keys(store, owner)
    found = await store.scripts.run("resolve_api_key", keys, [key_id, digest, repr(moment), FREE_PLAN, *plans])
    caller = await _caller(store, digest, owner, orjson.loads(found) if found else None, plans, moment)
    if caller is not None:
        _remember_owner(store.api_key_owners, digest, owner)
    return caller


def remembered_api_key(store: Store, key: str) -> bool:
    """Tell whether this process has seen this key live (its owner is remembered); no store access."""
    return looks_like_api_key(key) and digest_key(key) in store.api_key_owners


@dataclass(frozen=True)
class ApiKeyChat:
    caller: ApiKeyCaller
    status: int | str  # "refused", "not_in_plan", or the consume reply: 1 taken, 0 window full, -1 daily cap, ...
    value: float  # with 1: messages remaining; with 0: ms until a slot frees; with -1: tokens used today
    reset: float = 0.0  # with 1: ms until the oldest message leaves the window
    used: int = 0  # tokens counted today (the call's reservation included)


async def authorize_api_key_chat(
    store: Store,
    key: str,
    model: str,
    plans: Mapping[str, Plan],
    ticket_id: str,
    now: float,
    use: Consumption = Consumption(),
) -> ApiKeyChat | None:
    """Resolve a key this process has seen live and take the call's quota slot, in one round trip.

    `plans`: every plan by name (core.billing.plans.cached_plans). None when the key's owner is not remembered, or
    the key is gone (revoked): the caller takes the ordinary path (resolve_api_key_caller, then the quota).
    Nothing is taken for a revoked key or a missing or blocked user (status "refused").
    """
    if not looks_like_api_key(key):
        return None
    digest = digest_key(key)
    owner = store.api_key_owners.get(digest)
    if owner is None:
        return None
    user_id, key_id, keys = _owner_keys(store, owner)
    keys += consume_keys(store, user_id, model, day_stamp(now))
    table = plan_table(plans.values(), model, use)
    args = [key_id, digest, repr(now), FREE_PLAN, int(now * 1000), ticket_id, *use.args(), *table]
    found = await store.scripts.run("authorize_api_key_chat", keys, args)
    data = orjson.loads(found) if found else None
    caller = await _caller(store, digest, owner, data, plans, now)
    if caller is None or data is None:
        return None
    return ApiKeyChat(
        caller, data["status"], float(data.get("value") or 0), float(data.get("reset") or 0), int(data.get("used") or 0)
    )


def _owner_keys(store: Store, owner: str) -> tuple[str, str, list[str]]:
    """Split "<uid>:<key id>" and return the keys every API-key script reads first (one `{u:ID}` tag)."""
    user_id, _, key_id = owner.partition(":")
    k = store.keys
    return user_id, key_id, [k.api_keys(user_id), k.user(user_id), k.subscriptions(user_id)]


async def _caller(
    store: Store, digest: str, owner: str, data: dict[str, Any] | None, plans: Mapping[str, Plan], now: float
) -> ApiKeyCaller | None:
    """Read a RESOLVE_API_KEY-shaped reply (core.store.lua.api_keys); None (and forgotten) for a revoked key."""
    if data is None:
        store.api_key_owners.pop(digest, None)  # revoked: a later lookup goes to the store again
        return None
    user_id, _, key_id = owner.partition(":")
    meta = _load(data["meta"])
    stale = meta.last_used_at is None or now - meta.last_used_at >= TOUCH_INTERVAL_SECONDS
    if stale and _claim_touch(store.api_key_touches, digest, now):  # one write, not one per call in flight
        await _touch(store, user_id, key_id, now)
    subscriptions = parse_subscriptions(list(data["subs"] or []))  # Lua's cjson writes an empty list as {}
    choice = plan_choice(plans, data.get("current"), str(data.get("plan") or FREE_PLAN))
    return ApiKeyCaller(ApiKeyOwner(int(user_id), key_id), data["user"] or {}, subscriptions, choice)


def _remember_owner(owners: dict[str, Any], digest: str, owner: object) -> None:
    if digest not in owners and len(owners) >= MAX_REMEMBERED_OWNERS:
        owners.pop(next(iter(owners)))  # oldest first: a bounded memory, whatever the number of keys
    owners[digest] = owner


def _claim_touch(touches: dict[str, float], digest: str, now: float) -> bool:
    """Say whether this call writes the key's last use: only the first of a burst of calls that read the same stale
    time does (not all of them racing one transaction), then none of this process's for a minute."""
    if now - touches.get(digest, -math.inf) < TOUCH_INTERVAL_SECONDS:
        return False
    _remember_owner(touches, digest, now)
    return True


async def _touch(store: Store, user_id: str, key_id: str, now: float) -> None:
    keys_key = store.keys.api_keys(user_id)

    async def write(pipe: Pipeline) -> None:
        raw = await pipe.hget(keys_key, key_id)
        if raw is None:  # revoked meanwhile: writing back would resurrect it
            return
        data = orjson.loads(raw)
        data["last_used_at"] = now
        pipe.multi()
        pipe.hset(keys_key, key_id, orjson.dumps(data).decode())

    await store.redis.transaction(write, keys_key)
