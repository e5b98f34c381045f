"""Finding users for the dashboard by email, phone, name, id, invitation code or channel identity prefix, from an
index kept on write (never a keyspace scan).

``idx:users:search`` is a sorted set whose members are ``<term>\\x00<user id>`` at score 0, so a prefix is one
ZRANGEBYLEX. ``{u:ID}:search`` remembers the terms a user is indexed under, so a change (profile, a new email or
phone, a bound channel, deletion) removes the old ones. Writers call `index_user` after they change a record; a
concurrent pair of writers can leave a stale term behind, so every hit is checked against the user's current terms
before it is returned (and a stale one is dropped). `reindex_users` rebuilds the index from ``idx:users``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from core.errors import InvalidInput
from core.store.connection import Store

SEPARATOR = "\x00"
HIGHEST = "\U0010ffff"  # sorts after every character a term can hold (bytewise, in UTF-8)
MAX_QUERY = 100
SCAN_BATCH = 100
MAX_SCAN_STEPS = 20


@dataclass(frozen=True)
class SearchPage:
    user_ids: list[int]
    next_cursor: str | None


def normalize_term(text: str) -> str:
    """Lower-case and collapse whitespace (what is indexed and what is searched)."""
    return " ".join(text.split()).lower()[:MAX_QUERY]


def terms_of(fields: Mapping[str, str], channels: Mapping[str, str]) -> set[str]:
    """Return the terms a user record (and its bound channel identities) is found by."""
    terms = {str(fields.get("id", ""))}
    for name in ("email", "name", "invite_code"):
        if fields.get(name):
            terms.add(normalize_term(fields[name]))
    phone = fields.get("phone", "")
    if phone:
        terms |= {phone, phone.lstrip("+")}
        if phone.startswith("+86"):
            terms.add(phone[3:])  # mainland numbers are typed without the country code
    terms |= {normalize_term(external_id) for external_id in channels.values() if external_id}
    return {term for term in terms if term}


def _member(term: str, user_id: int | str) -> str:
    return f"{term}{SEPARATOR}{user_id}"


async def _current_terms(store: Store, user_id: int | str) -> set[str]:
    async with store.redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(store.keys.user(user_id))
        pipe.hgetall(store.keys.channel_identities(user_id))
        fields, channels = await pipe.execute()
    return terms_of(fields, channels) if fields.get("id") else set()


async def index_user(store: Store, user_id: int | str) -> None:
    """Bring the user's index entries in line with the record (call after any change to it; idempotent)."""
    terms = await _current_terms(store, user_id)
    old: set[str] = await store.redis.smembers(store.keys.user_search_terms(user_id))  # type: ignore[assignment]
    gone, new = old - terms, terms - old
    async with store.redis.pipeline(transaction=False) as pipe:  # the global index lives in another slot
        if gone:
            pipe.zrem(store.keys.user_search(), *(_member(term, user_id) for term in gone))
            pipe.srem(store.keys.user_search_terms(user_id), *gone)
        if new:
            pipe.zadd(store.keys.user_search(), {_member(term, user_id): 0 for term in new})
            pipe.sadd(store.keys.user_search_terms(user_id), *new)
        await pipe.execute()


async def unindex_user(store: Store, user_id: int | str) -> None:
    """Remove every index entry of a user (the account is being deleted)."""
    old: set[str] = await store.redis.smembers(store.keys.user_search_terms(user_id))  # type: ignore[assignment]
    if old:
        await store.redis.zrem(store.keys.user_search(), *(_member(term, user_id) for term in old))
    await store.redis.delete(store.keys.user_search_terms(user_id))


def encode_cursor(member: str) -> str:
    return base64.urlsafe_b64encode(member.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("The cursor is not valid.", field="cursor") from exc


async def search_users(store: Store, query: str, cursor: str | None = None, limit: int = 50) -> SearchPage:
    """Return the ids of users with a term starting with `query` (each once per page), in term order."""
    prefix = normalize_term(query)
    if not prefix:
        raise InvalidInput("Type something to search for.", field="q")
    start = f"({decode_cursor(cursor)}" if cursor else f"[{prefix}"
    found: list[int] = []
    last = ""
    for _ in range(MAX_SCAN_STEPS):
        members: list[str] = await store.redis.zrangebylex(  # type: ignore[assignment]
            store.keys.user_search(), start, f"[{prefix}{HIGHEST}", 0, SCAN_BATCH
        )
        current = await _current(store, members)
        for member, valid in zip(members, current, strict=True):
            last = member
            user_id = int(member.rpartition(SEPARATOR)[2])
            if valid and user_id not in found:
                found.append(user_id)
                if len(found) == limit:
                    return SearchPage(found, encode_cursor(member))
        if len(members) < SCAN_BATCH:
            return SearchPage(found, None)
        start = f"({last}"
    return SearchPage(found, encode_cursor(last))


async def _current(store: Store, members: list[str]) -> list[bool]:
    """Say which hits are still among their user's terms; drop the ones a concurrent change left behind."""
    if not members:
        return []
    async with store.redis.pipeline(transaction=False) as pipe:
        for member in members:
            term, _, user_id = member.rpartition(SEPARATOR)
            pipe.sismember(store.keys.user_search_terms(user_id), term)
        current = [bool(flag) for flag in await pipe.execute()]
    stale = [member for member, valid in zip(members, current, strict=True) if not valid]
    if stale:
        await store.redis.zrem(store.keys.user_search(), *stale)
    return current


async def reindex_users(store: Store, user_ids: Iterable[int | str] | None = None) -> int:
    """Rebuild the index entries of every user listed in idx:users (or of `user_ids`); return how many."""
    count = 0
    if user_ids is None:
        listed: list[str] = await store.redis.zrange(store.keys.users_index(), 0, -1)  # type: ignore[assignment]
        user_ids = listed
    for user_id in user_ids:
        await index_user(store, user_id)
        count += 1
    return count
