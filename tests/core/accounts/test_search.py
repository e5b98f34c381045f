"""Finding users by prefix from the index kept on write: registration, profile, a bound address or channel,
deletion; a stale entry left by a race is dropped; the index can be rebuilt."""

from __future__ import annotations

import time

import pytest

from core.accounts.channel_identities import identify
from core.accounts.registration import register_user
from core.accounts.search import index_user, reindex_users, search_users
from core.accounts.users import update_profile
from core.errors import InvalidInput
from core.settings import Settings
from core.store.connection import Store

PASSWORD = "correct horse battery"


async def found(store: Store, query: str) -> list[int]:
    return (await search_users(store, query)).user_ids


async def test_prefixes_of_every_identifier(store: Store, settings: Settings) -> None:
    alice = await register_user(store, settings, None, email="Alice.W@Example.com", password=PASSWORD, name="Wang Li",
                                now=time.time())  # fmt: skip
    bob = await register_user(store, settings, None, phone="13800138000", password=PASSWORD, now=time.time())
    bot = await identify(store, settings, "telegram", "987654321", now=time.time(), name="tg fan")
    assert await found(store, "alice") == [alice.id]
    assert await found(store, "ALICE.W@EX") == [alice.id]
    assert await found(store, "wang") == [alice.id]
    assert await found(store, "1380013") == [bob.id]  # mainland number typed without +86
    assert await found(store, "+86138") == [bob.id]
    assert await found(store, alice.invite_code[:4].lower()) == [alice.id]
    assert await found(store, "98765") == [bot.id]  # a bound channel identity
    assert bob.id in await found(store, str(bob.id))
    assert await found(store, "nobody") == []
    await update_profile(store, alice.id, name="Zhao")
    assert await found(store, "wang") == [] and await found(store, "zhao") == [alice.id]
    with pytest.raises(InvalidInput):
        await search_users(store, "   ")


async def test_pages_and_stale_entries(store: Store, settings: Settings) -> None:
    ids = [
        (await register_user(store, settings, None, email=f"same{i:02d}@example.com", password=PASSWORD,
                             now=time.time())).id
        for i in range(5)
    ]  # fmt: skip
    first = await search_users(store, "same", limit=2)
    second = await search_users(store, "same", cursor=first.next_cursor, limit=2)
    third = await search_users(store, "same", cursor=second.next_cursor, limit=2)
    assert first.user_ids + second.user_ids + third.user_ids == ids and third.next_cursor is None
    # A writer that lost a race left an old term behind: the hit is checked against the user's terms and dropped.
    await store.redis.zadd(store.keys.user_search(), {f"stale-name\x00{ids[0]}": 0})
    assert await found(store, "stale") == []
    assert await store.redis.zcard(store.keys.user_search()) > 0
    assert not await store.redis.zscore(store.keys.user_search(), f"stale-name\x00{ids[0]}")


async def test_reindex_rebuilds_from_the_records(store: Store, settings: Settings) -> None:
    user = await register_user(store, settings, None, email="old@example.com", password=PASSWORD, now=time.time())
    await store.redis.delete(store.keys.user_search(), store.keys.user_search_terms(user.id))
    assert await found(store, "old") == []
    assert await reindex_users(store) == 1
    assert await found(store, "old") == [user.id]
    await index_user(store, user.id)  # idempotent
    assert await found(store, "old@") == [user.id]
