"""Accounts: users with an email and/or phone, argon2id passwords, roles, blocking and invitations.

Record: ``{u:ID}:user`` hash (fields of `User`). Identities are claimed with SET NX on ``idx:email:<email>`` /
``idx:phone:<e164>``, so of two concurrent registrations of one address exactly one wins; the loser releases
whatever it claimed. Invitation codes are claimed the same way on ``idx:invite:<code>``.
Sign-in lives here too: password, code and session-token authentication, all refusing blocked users.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from redis.typing import EncodableT, FieldT

from core.accounts import sessions, throttle
from core.accounts.addresses import Target, index_key, parse_target, target_of
from core.accounts.passwords import (
    burn_verification,
    check_password_rules,
    hash_password,
    needs_rehash,
    verify_password,
)
from core.accounts.verification import CodeNotifier, delivery_available, verify_code
from core.errors import (
    AccountBlocked,
    AlreadyRegistered,
    CodeRequired,
    InvalidCode,
    InvalidCredentials,
    InvalidInput,
    InvalidInviteCode,
    NotFound,
)
from core.settings import Settings
from core.store.connection import Store

Role = Literal["user", "admin"]
ROLES: tuple[str, ...] = ("user", "admin")
LANGUAGES: tuple[str, ...] = ("zh-CN", "en")
MAX_NAME_LENGTH = 64
INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes get read aloud and retyped
INVITE_LENGTH = 8


@dataclass(frozen=True)
class User:
    id: int
    email: str
    phone: str
    password_hash: str
    name: str
    role: str
    blocked: bool
    created_at: float
    last_login_at: float
    lang: str
    invite_code: str
    inviter_id: int | None
    reset_chances: int
    invitee_count: int

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def public(self) -> dict[str, Any]:
        """Return every field except the password hash (safe for the user's own browser and the admin)."""
        fields = asdict(self)
        del fields["password_hash"]
        return fields


@dataclass(frozen=True)
class Authenticated:
    """A valid session token: its user, its session, and a fresh token when the expiry slid."""

    user: User
    session: sessions.Session
    new_token: str | None


def user_from_fields(fields: Mapping[str, str]) -> User | None:
    """Build a User from its stored hash; None when there is no record."""
    if not fields.get("id"):
        return None
    return User(
        id=int(fields["id"]), email=fields.get("email", ""), phone=fields.get("phone", ""),
        password_hash=fields.get("password_hash", ""), name=fields.get("name", ""),
        role=fields.get("role") or "user", blocked=fields.get("blocked") == "1",
        created_at=float(fields.get("created_at") or 0), last_login_at=float(fields.get("last_login_at") or 0),
        lang=fields.get("lang", ""), invite_code=fields.get("invite_code", ""),
        inviter_id=int(fields["inviter_id"]) if fields.get("inviter_id") else None,
        reset_chances=int(fields.get("reset_chances") or 0), invitee_count=int(fields.get("invitee_count") or 0),
    )  # fmt: skip


async def get_user(store: Store, user_id: int | str) -> User | None:
    """Return a user by id, or None."""
    fields: dict[str, str] = await store.redis.hgetall(store.keys.user(user_id))  # type: ignore[assignment]
    return user_from_fields(fields)


async def find_user_by_target(store: Store, target: str | Target) -> User | None:
    """Return the user with this email or phone (any case, any accepted phone form), or None."""
    parsed = parse_target(target) if isinstance(target, str) else target
    user_id = await store.redis.get(index_key(store.keys, parsed))
    return await get_user(store, str(user_id)) if user_id else None


async def _require_user(store: Store, user_id: int) -> User:
    user = await get_user(store, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def _check_profile(name: str | None, lang: str | None) -> None:
    if name is not None and len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"The name must be at most {MAX_NAME_LENGTH} characters.", field="name")
    if lang and lang not in LANGUAGES:
        raise InvalidInput(f"lang must be one of {', '.join(LANGUAGES)}.", field="lang")


# --- registration --------------------------------------------------------------------------------------------------
async def _inviter_of(store: Store, invite_code: str | None) -> int | None:
    if not invite_code:
        return None
    inviter_id = await store.redis.get(store.keys.invite_index(invite_code.strip().upper()))
    if inviter_id is None:
        raise InvalidInviteCode(field="invite_code")
    return int(inviter_id)


async def _claim_invite_code(store: Store, user_id: int) -> str:
    for _ in range(20):  # 32^8 codes: a collision is rare, twenty in a row is a broken store
        code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
        if await store.redis.set(store.keys.invite_index(code), user_id, nx=True):
            return code
    raise RuntimeError("could not find a free invitation code")


async def _write_user(store: Store, settings: Settings, user: User) -> None:
    fields = {**asdict(user), "blocked": int(user.blocked), "inviter_id": user.inviter_id or ""}
    record: dict[FieldT, EncodableT] = {name: value for name, value in fields.items()}
    # Not one MULTI: the user, the global index and the inviter live in different cluster slots.
    async with store.redis.pipeline(transaction=False) as pipe:
        pipe.hset(store.keys.user(user.id), mapping=record)
        pipe.zadd(store.keys.users_index(), {str(user.id): user.created_at})
        if user.inviter_id is not None:
            pipe.zadd(store.keys.invitees(user.inviter_id), {str(user.id): user.created_at})
            inviter = store.keys.user(user.inviter_id)
            pipe.hincrby(inviter, "invitee_count", 1)
            pipe.hincrby(inviter, "reset_chances", settings.INVITE_RESET_CHANCES)
        await pipe.execute()


async def _create_user(store: Store, settings: Settings, target: Target, template: User) -> User:
    """Claim the identity and an invitation code under a new id, then write the record; undo on failure."""
    user_id = int(await store.redis.incr(store.keys.user_seq()))
    identity_key = index_key(store.keys, target)
    if not await store.redis.set(identity_key, user_id, nx=True):
        raise AlreadyRegistered()
    claimed = [identity_key]
    try:
        invite_code = await _claim_invite_code(store, user_id)
        claimed.append(store.keys.invite_index(invite_code))
        user = replace(template, id=user_id, invite_code=invite_code)
        user = replace(user, email=target.value) if target.kind == "email" else replace(user, phone=target.value)
        await _write_user(store, settings, user)
    except BaseException:
        await store.redis.delete(*claimed)
        raise
    return user


async def register_user(
    store: Store, settings: Settings, notifier: CodeNotifier | None, *, email: str | None = None,
    phone: str | None = None, password: str, name: str = "", lang: str = "", invite_code: str | None = None,
    code: str | None = None, role: Role = "user", now: float, signs_in: bool = True,
) -> User:  # fmt: skip
    """Create an account; a code is required exactly when a provider can deliver one to this kind of address.

    `signs_in`: the caller opens a session for the new user right away, so `now` is also its last sign-in.
    """
    target = target_of(email, phone)
    check_password_rules(password)
    _check_profile(name, lang)
    inviter_id = await _inviter_of(store, invite_code)
    if await store.redis.exists(index_key(store.keys, target)):
        raise AlreadyRegistered()
    if delivery_available(notifier, target.kind):
        if not code:
            raise CodeRequired(field="code")
        await verify_code(store, settings, target.value, "register", code)
    template = User(
        id=0, email="", phone="", password_hash=await hash_password(settings, password), name=name, role=role,
        blocked=False, created_at=now, last_login_at=now if signs_in else 0, lang=lang,  # "": follow the browser
        invite_code="",
        inviter_id=inviter_id, reset_chances=0, invitee_count=0,
    )  # fmt: skip
    return await _create_user(store, settings, target, template)


@dataclass(frozen=True)
class AdminCreated:
    """What `ensure_admin` did: the administrator, whether it was an existing account, and its ended sessions."""

    user: User
    promoted: bool
    sessions_ended: int


async def ensure_admin(
    store: Store, settings: Settings, *, email: str | None = None, phone: str | None = None, password: str,
    now: float,
) -> AdminCreated:  # fmt: skip
    """Create an administrator, or make the existing account of that address an (unblocked) admin with this password.

    Replacing an existing account's password ends all its sessions, as a password reset does.
    """
    try:
        user = await register_user(
            store, settings, None, email=email, phone=phone, password=password, role="admin", now=now,
            signs_in=False,
        )  # fmt: skip
        return AdminCreated(user, promoted=False, sessions_ended=0)
    except AlreadyRegistered:
        target = target_of(email, phone)
        existing = await find_user_by_target(store, target)
        if existing is None:  # the address was released by a concurrent failed registration
            raise
    return await _promote(store, settings, existing.id, target, password)


async def create_admin(
    store: Store, settings: Settings, *, email: str | None = None, phone: str | None = None, password: str,
    now: float,
) -> User:  # fmt: skip
    """Create or promote an administrator (see `ensure_admin`) and return it."""
    return (await ensure_admin(store, settings, email=email, phone=phone, password=password, now=now)).user


async def _promote(store: Store, settings: Settings, user_id: int, target: Target, password: str) -> AdminCreated:
    check_password_rules(password)
    await store.redis.hset(
        store.keys.user(user_id),
        mapping={"role": "admin", "blocked": 0, "password_hash": await hash_password(settings, password)},
    )
    ended = await sessions.revoke_sessions(store, user_id)  # whoever held the old password is signed out
    await throttle.clear_account_failures(store, target.value)  # the operator may be recovering a locked-out admin
    return AdminCreated(await _require_user(store, user_id), promoted=True, sessions_ended=ended)


# --- signing in ----------------------------------------------------------------------------------------------------
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
    await throttle.begin_attempt(store, settings, parsed.value, ip)
    user = await find_user_by_target(store, parsed)
    if user is None:
        await burn_verification(settings, password)  # a miss takes as long as a wrong password
        raise InvalidCredentials()
    if not await verify_password(settings, user.password_hash, password):
        raise InvalidCredentials()
    return await _signed_in(store, settings, user, parsed, ip, now, password)


async def authenticate_code(store: Store, settings: Settings, target: str, code: str, *, ip: str, now: float) -> User:
    """Check a sign-in by a login code (throttled like passwords) and return the user."""
    parsed = parse_target(target)
    await throttle.begin_attempt(store, settings, parsed.value, ip)
    await verify_code(store, settings, parsed.value, "login", code)
    user = await find_user_by_target(store, parsed)
    if user is None:
        raise InvalidCode()
    return await _signed_in(store, settings, user, parsed, ip, now)


async def authenticate_token(
    store: Store, settings: Settings, secret: str, token: str, *, now: float
) -> Authenticated | None:
    """Resolve a session token to its live session and unblocked user (one round trip), else None."""
    claims = sessions.decode_token(secret, token, now)
    if claims is None:
        return None
    async with store.redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(store.keys.user(claims.user_id))
        pipe.hgetall(store.keys.session(claims.user_id, claims.session_id))
        user_fields, session_fields = await pipe.execute()
    user = user_from_fields(user_fields)
    session = sessions.session_from_fields(claims.user_id, claims.session_id, session_fields)
    if user is None or session is None or user.blocked:
        return None
    new_token = await sessions.touch_session(store, settings, secret, session, claims, now)
    return Authenticated(user, session, new_token)


# --- account changes -----------------------------------------------------------------------------------------------
async def set_blocked(store: Store, user_id: int, blocked: bool) -> User:
    """Block (ending every session at once) or unblock a user."""
    user = await _require_user(store, user_id)
    await store.redis.hset(store.keys.user(user_id), "blocked", int(blocked))
    if blocked:
        await sessions.revoke_sessions(store, user_id)
    return replace(user, blocked=blocked)


async def set_role(store: Store, user_id: int, role: Role) -> User:
    """Make a user an admin or a plain user."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}.", field="role")
    user = await _require_user(store, user_id)
    await store.redis.hset(store.keys.user(user_id), "role", role)
    return replace(user, role=role)


async def change_password(
    store: Store, settings: Settings, user_id: int, old_password: str, new_password: str, *, ip: str,
    keep_session: str | None,
) -> int:  # fmt: skip
    """Replace the password after checking the old one; end every other session and return how many ended."""
    check_password_rules(new_password)
    user = await _require_user(store, user_id)
    account = user.email or user.phone
    await throttle.begin_attempt(store, settings, account, ip)  # old-password guesses count as failed sign-ins
    if not await verify_password(settings, user.password_hash, old_password):
        raise InvalidCredentials("The current password is wrong.", field="old_password")
    await throttle.attempt_succeeded(store, account, ip)
    await store.redis.hset(store.keys.user(user_id), "password_hash", await hash_password(settings, new_password))
    return await sessions.revoke_sessions(store, user_id, keep=keep_session)


async def reset_password(store: Store, settings: Settings, target: str, code: str, new_password: str) -> User:
    """Set a new password with a reset code; every session of the account ends."""
    check_password_rules(new_password)
    parsed = parse_target(target)
    await verify_code(store, settings, parsed.value, "reset", code)
    user = await find_user_by_target(store, parsed)
    if user is None:
        raise InvalidCode()
    await store.redis.hset(store.keys.user(user.id), "password_hash", await hash_password(settings, new_password))
    await sessions.revoke_sessions(store, user.id)
    await throttle.clear_account_failures(store, parsed.value)
    return user


async def update_profile(store: Store, user_id: int, *, name: str | None = None, lang: str | None = None) -> User:
    """Change the display name and/or language."""
    _check_profile(name, lang)
    changes: dict[FieldT, EncodableT] = {
        field: value for field, value in (("name", name), ("lang", lang)) if value is not None
    }
    if changes:
        await store.redis.hset(store.keys.user(user_id), mapping=changes)
    return await _require_user(store, user_id)


async def bind_target(store: Store, settings: Settings, user_id: int, target: str, code: str) -> User:
    """Add (or replace) the account's email or phone after proving it with a bind code."""
    parsed = parse_target(target)
    user = await _require_user(store, user_id)
    await verify_code(store, settings, parsed.value, "bind", code)
    if not await store.redis.set(index_key(store.keys, parsed), user_id, nx=True):
        raise AlreadyRegistered()
    previous = user.email if parsed.kind == "email" else user.phone
    await store.redis.hset(store.keys.user(user_id), parsed.kind, parsed.value)
    if previous:
        await store.redis.delete(index_key(store.keys, Target(parsed.kind, previous)))
    return await _require_user(store, user_id)


async def list_users(store: Store, offset: int = 0, limit: int = 50) -> list[User]:
    """Return a page of users, newest first (via the idx:users sorted set)."""
    if limit <= 0:
        return []
    user_ids = [str(uid) for uid in await store.redis.zrevrange(store.keys.users_index(), offset, offset + limit - 1)]
    async with store.redis.pipeline(transaction=False) as pipe:
        for user_id in user_ids:
            pipe.hgetall(store.keys.user(user_id))
        records = await pipe.execute()
    return [user for user in map(user_from_fields, records) if user is not None]


async def count_users(store: Store) -> int:
    """Return how many accounts exist."""
    return int(await store.redis.zcard(store.keys.users_index()))
