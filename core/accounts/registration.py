"""Registration: new accounts (by email or phone, with a code when one can be delivered), invitations and admins.

Identities are claimed with SET NX on ``idx:email:<email>`` / ``idx:phone:<e164>``, so of two concurrent
registrations of one address exactly one wins; the loser releases whatever it claimed. Invitation codes are claimed
the same way on ``idx:invite:<code>``. Registrations are limited per IP and per network (core.accounts
.signup_limits). The inviter is recorded with the account; the reward waits until the invitee proves an address
with a code or pays (core.billing.invitations), so that fake sign-ups earn nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, replace

from redis.typing import EncodableT, FieldT

from core.accounts import sessions, throttle
from core.accounts.addresses import Target, index_key, target_of
from core.accounts.passwords import check_password_rules, hash_password
from core.accounts.search import index_user
from core.accounts.signup_limits import take_signup_slot
from core.accounts.users import Role, User, check_profile, find_user_by_target, require_user
from core.accounts.verification import CodeNotifier, delivery_available, verify_code
from core.billing.invitations import reward_invitation
from core.errors import AlreadyRegistered, CodeRequired, InvalidInviteCode, InviteRequired, RegistrationClosed
from core.settings import Settings
from core.site.config import site_config
from core.store.connection import Store

INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes get read aloud and retyped
INVITE_LENGTH = 8


async def _inviter_of(store: Store, invite_code: str | None) -> int | None:
    if not invite_code:
        return None
    inviter_id = await store.redis.get(store.keys.invite_index(invite_code.strip().upper()))
    if inviter_id is None:
        raise InvalidInviteCode(field="invite_code")
    return int(inviter_id)


async def _check_registration_open(store: Store, settings: Settings, invite_code: str | None) -> None:
    mode = (await site_config(store, settings)).registration
    if mode == "closed":
        raise RegistrationClosed()
    if mode == "invite" and not (invite_code or "").strip():
        raise InviteRequired(field="invite_code")


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
        await pipe.execute()
    await index_user(store, user.id)


async def create_account(
    store: Store, settings: Settings, identity_key: str, template: User, address: Target | None = None,
    ip: str = "",
) -> User:  # fmt: skip
    """Claim `identity_key` (SET NX) and an invitation code under a new id, then write the record; undo on failure.

    The identity key maps one sign-in address (`address`: an email or a phone, written on the record) or one
    channel identity (core.accounts.channel_identities) to the account. AlreadyRegistered when it is taken;
    TooManyAttempts when `ip` (a web registration) or its network registered too many accounts lately.
    """
    user_id = int(await store.redis.incr(store.keys.user_seq()))
    if not await store.redis.set(identity_key, user_id, nx=True):
        raise AlreadyRegistered()
    claimed = [identity_key]
    try:
        if ip:
            await take_signup_slot(store, settings, ip)
        invite_code = await _claim_invite_code(store, user_id)
        claimed.append(store.keys.invite_index(invite_code))
        user = replace(template, id=user_id, invite_code=invite_code)
        if address is not None and address.kind == "email":
            user = replace(user, email=address.value)
        elif address is not None:
            user = replace(user, phone=address.value)
        await _write_user(store, settings, user)
    except BaseException:
        await store.redis.delete(*claimed)
        raise
    return user


async def register_user(
    store: Store, settings: Settings, notifier: CodeNotifier | None, *, email: str | None = None,
    phone: str | None = None, password: str, name: str = "", lang: str = "", invite_code: str | None = None,
    code: str | None = None, role: Role = "user", now: float, signs_in: bool = True, ip: str = "",
) -> User:  # fmt: skip
    """Create an account; a code is required exactly when a provider can deliver one to this kind of address.

    `signs_in`: the caller opens a session for the new user right away, so `now` is also its last sign-in.
    `ip`: the client's address for the sign-up limits (core.accounts.signup_limits); empty for the CLI.
    """
    target = target_of(email, phone)
    check_password_rules(password)
    check_profile(name, lang)
    if role != "admin":  # the site's registration mode (dashboard settings); operators' accounts are theirs to make
        await _check_registration_open(store, settings, invite_code)
    inviter_id = await _inviter_of(store, invite_code)
    if await store.redis.exists(index_key(store.keys, target)):
        raise AlreadyRegistered()
    verified = delivery_available(notifier, target.kind)
    if verified:
        if not code:
            raise CodeRequired(field="code")
        await verify_code(store, settings, target.value, "register", code)
    template = User(
        id=0, email="", phone="", password_hash=await hash_password(settings, password), name=name, role=role,
        blocked=False, created_at=now, last_login_at=now if signs_in else 0, lang=lang,  # "": follow the browser
        invite_code="",
        inviter_id=inviter_id, reset_chances=0, invitee_count=0,
    )  # fmt: skip
    user = await create_account(store, settings, index_key(store.keys, target), template, target, ip=ip)
    if verified and inviter_id is not None:
        await reward_invitation(store, settings, user.id, trigger="register_code", now=now)
    return user


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
    return AdminCreated(await require_user(store, user_id), promoted=True, sessions_ended=ended)
