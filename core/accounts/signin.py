"""Signing in and credentials: password, code and session-token authentication (all refusing blocked users),
changing and resetting the password, and binding another email or phone to an account.

Password and code sign-ins are throttled per account and per IP (core.accounts.throttle); a reset or a password
change ends the account's other sessions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from redis.typing import EncodableT, FieldT

from core.accounts import sessions, throttle
from core.accounts.addresses import Target, index_key, parse_target
from core.accounts.api_keys import revoke_all_api_keys
from core.accounts.passwords import (
    burn_verification,
    check_password_rules,
    hash_password,
    needs_rehash,
    verify_password,
)
from core.accounts.search import index_user
from core.accounts.users import User, find_user_by_target, require_user, user_from_fields
from core.accounts.verification import verify_code
from core.billing.invitations import reward_invitation
from core.errors import AccountBlocked, AlreadyRegistered, InvalidCode, InvalidCredentials
from core.settings import Settings
from core.store.connection import Store


async def _signed_in(
    store: Store, settings: Settings, user: User, target: Target, ip: str, now: float, password: str | None = None
) -> User:
    await throttle.attempt_succeeded(store, target.value, ip)
    if user.blocked:
        raise AccountBlocked()
    updates: dict[FieldT, EncodableT] = {"last_login_at": now}
    if password is not None and needs_rehash(settings, user.password_hash):
        updates["password_hash"] = await hash_password(settings, password)
    await store.redis.hset(store.keys.user(user.id), mapping=updates)
    return replace(user, last_login_at=now)


async def authenticate_password(
    store: Store, settings: Settings, target: str, password: str, *, ip: str, now: float
) -> User:
    """Check a password sign-in (throttled per account and IP) and return the user."""
    parsed = parse_target(target)
    await throttle.begin_attempt(store, settings, parsed.value, ip, now)
    user = await find_user_by_target(store, parsed)
    if user is None:
        await burn_verification(settings, password)  # a miss takes as long as a wrong password
        raise InvalidCredentials()
    if not await verify_password(settings, user.password_hash, password):
        raise InvalidCredentials()
    return await _signed_in(store, settings, user, parsed, ip, now, password)


async def authenticate_code(store: Store, settings: Settings, target: str, code: str, *, ip: str, now: float) -> User:
    """Check a sign-in by a login code (throttled per IP; the code's own tries bound guessing) and return the user."""
    parsed = parse_target(target)
    await throttle.begin_ip_attempt(store, settings, ip)  # not the account's counter: code sign-in stays open
    await verify_code(store, settings, parsed.value, "login", code)
    user = await find_user_by_target(store, parsed)
    if user is None:
        raise InvalidCode()
    signed_in = await _signed_in(store, settings, user, parsed, ip, now)
    await reward_invitation(store, settings, user.id, trigger="login_code", now=now)  # the address is proven
    return signed_in


async def authenticate_token(
    store: Store, settings: Settings, secret: str, token: str, *, now: float, app: str = "web"
) -> Authenticated | None:
    """Resolve a session token of `app` to its live session and unblocked user (one round trip), else None."""
    claims = sessions.decode_token(secret, token, now)
    if claims is None:
        return None
    async with store.redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(store.keys.user(claims.user_id))
        pipe.hgetall(store.keys.session(claims.user_id, claims.session_id))
        user_fields, session_fields = await pipe.execute()
    user = user_from_fields(user_fields)
    session = sessions.session_from_fields(claims.user_id, claims.session_id, session_fields)
    if user is None or session is None or user.blocked or session.app != app:
        return None
    new_token = await sessions.touch_session(store, settings, secret, session, claims, now)
    return Authenticated(user, session, new_token)


@dataclass(frozen=True)
class Authenticated:
    """A valid session token: its user, its session, and a fresh token when the expiry slid."""

    user: User
    session: sessions.Session
    new_token: str | None


async def change_password(
    store: Store, settings: Settings, user_id: int, old_password: str, new_password: str, *, ip: str,
    keep_session: str | None, now: float | None = None,
) -> int:  # fmt: skip
    """Replace the password after checking the old one; end every other session and return how many ended."""
    check_password_rules(new_password)
    user = await require_user(store, user_id)
    account = user.email or user.phone
    moment = time.time() if now is None else now
    await throttle.begin_attempt(store, settings, account, ip, moment)  # old-password guesses count as failed sign-ins
    if not await verify_password(settings, user.password_hash, old_password):
        raise InvalidCredentials("The current password is wrong.", field="old_password")
    await throttle.attempt_succeeded(store, account, ip)
    await store.redis.hset(store.keys.user(user_id), "password_hash", await hash_password(settings, new_password))
    return await sessions.revoke_sessions(store, user_id, keep=keep_session)


async def reset_password(store: Store, settings: Settings, target: str, code: str, new_password: str) -> User:
    """Set a new password with a reset code; every session and API key of the account ends."""
    check_password_rules(new_password)
    parsed = parse_target(target)
    await verify_code(store, settings, parsed.value, "reset", code)
    user = await find_user_by_target(store, parsed)
    if user is None:
        raise InvalidCode()
    await store.redis.hset(store.keys.user(user.id), "password_hash", await hash_password(settings, new_password))
    await sessions.revoke_sessions(store, user.id)
    await revoke_all_api_keys(store, user.id)  # whoever took over the account may have made keys
    await throttle.clear_account_failures(store, parsed.value)
    return user


async def bind_target(store: Store, settings: Settings, user_id: int, target: str, code: str) -> User:
    """Add (or replace) the account's email or phone after proving it with a bind code."""
    parsed = parse_target(target)
    user = await require_user(store, user_id)
    await verify_code(store, settings, parsed.value, "bind", code)
    if not await store.redis.set(index_key(store.keys, parsed), user_id, nx=True):
        raise AlreadyRegistered()
    previous = user.email if parsed.kind == "email" else user.phone
    await store.redis.hset(store.keys.user(user_id), parsed.kind, parsed.value)
    if previous:
        await store.redis.delete(index_key(store.keys, Target(parsed.kind, previous)))
    await index_user(store, user_id)
    await reward_invitation(store, settings, user_id, trigger="bind_code", now=time.time())  # proven by a code
    return await require_user(store, user_id)
