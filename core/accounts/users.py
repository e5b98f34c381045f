"""Users: the account record, looking accounts up, profile, role and blocking, and the admin lists.

Record: ``{u:ID}:user`` hash (fields of `User`); ``idx:users`` lists every id by creation time. Registration is in
core.accounts.registration, signing in and changing credentials in core.accounts.signin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from redis.typing import EncodableT, FieldT

from core.accounts import sessions
from core.accounts.addresses import Target, index_key, parse_target
from core.accounts.search import index_user
from core.errors import InvalidInput, NotFound
from core.i18n import LANGUAGES
from core.store.connection import Store

Role = Literal["user", "admin"]
ROLES: tuple[str, ...] = ("user", "admin")

MAX_NAME_LENGTH = 64


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


async def require_user(store: Store, user_id: int) -> User:
    user = await get_user(store, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def check_profile(name: str | None, lang: str | None) -> None:
    if name is not None and len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"The name must be at most {MAX_NAME_LENGTH} characters.", field="name")
    if lang and lang not in LANGUAGES:
        raise InvalidInput(f"lang must be one of {', '.join(LANGUAGES)}.", field="lang")


async def set_blocked(store: Store, user_id: int, blocked: bool) -> User:
    """Block (ending every session at once) or unblock a user."""
    user = await require_user(store, user_id)
    await store.redis.hset(store.keys.user(user_id), "blocked", int(blocked))
    if blocked:
        await sessions.revoke_sessions(store, user_id)
    return replace(user, blocked=blocked)


async def set_role(store: Store, user_id: int, role: Role) -> User:
    """Make a user an admin or a plain user."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}.", field="role")
    user = await require_user(store, user_id)
    await store.redis.hset(store.keys.user(user_id), "role", role)
    return replace(user, role=role)


async def update_profile(store: Store, user_id: int, *, name: str | None = None, lang: str | None = None) -> User:
    """Change the display name and/or language."""
    check_profile(name, lang)
    changes: dict[FieldT, EncodableT] = {
        field: value for field, value in (("name", name), ("lang", lang)) if value is not None
    }
    if changes:
        await store.redis.hset(store.keys.user(user_id), mapping=changes)
        await index_user(store, user_id)
    return await require_user(store, user_id)


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
