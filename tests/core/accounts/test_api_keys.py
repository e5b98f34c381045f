import asyncio
import hashlib

import pytest

from core.accounts.api_keys import (
    MAX_KEYS_PER_USER,
    ApiKeyOwner,
    create_api_key,
    list_api_keys,
    resolve_api_key,
    revoke_api_key,
)
from core.errors import InvalidInput, LimitReached, NotFound
from core.store.connection import Store

T0 = 1_700_000_000.0


async def dump_store(store: Store) -> str:
    """Every key, field and value in the test database, as one string (for leak checks)."""
    parts: list[str] = []
    async for key in store.redis.scan_iter(match="*"):
        kind = await store.redis.type(key)
        value: object = await store.redis.hgetall(key) if kind == "hash" else await store.redis.get(key)
        parts.append(f"{key}={value}")
    return "\n".join(parts)


async def test_create_returns_a_key_once_and_stores_only_its_digest(store: Store) -> None:
    meta, key = await create_api_key(store, 7, "  laptop  ", T0)
    assert key.startswith("sk-") and len(key) == 51
    assert all(ch.isalnum() or ch in "-_" for ch in key[3:])
    assert meta.name == "laptop" and meta.created_at == T0 and meta.last_used_at is None
    assert meta.prefix == f"{key[:6]}…{key[-4:]}"
    everything = await dump_store(store)
    assert key not in everything and key[3:] not in everything
    assert hashlib.sha256(key.encode()).hexdigest() in everything  # the lookup is by digest
    assert meta.public() == {
        "id": meta.id,
        "name": "laptop",
        "prefix": meta.prefix,
        "created_at": T0,
        "last_used_at": None,
    }


async def test_keys_are_unique(store: Store) -> None:
    created = [await create_api_key(store, 1, f"k{i}", T0 + i) for i in range(5)]
    assert len({key for _, key in created}) == 5
    assert len({meta.id for meta, _ in created}) == 5


async def test_list_never_returns_the_secret(store: Store) -> None:
    first, key1 = await create_api_key(store, 1, "one", T0)
    second, key2 = await create_api_key(store, 1, "two", T0 + 1)
    await create_api_key(store, 2, "other user", T0)
    listed = await list_api_keys(store, 1)
    assert [meta.id for meta in listed] == [second.id, first.id]
    shown = str([meta.public() for meta in listed])
    assert key1 not in shown and key2 not in shown and first.digest not in shown


async def test_resolve_finds_the_owner_and_nothing_else(store: Store) -> None:
    meta, key = await create_api_key(store, 42, "ci", T0)
    assert await resolve_api_key(store, key, T0 + 1) == ApiKeyOwner(user_id=42, key_id=meta.id)
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    for bad in (wrong, "sk-short", "", "Bearer " + key, key + "x", "eyJhbGciOiJIUzI1NiJ9.e30.sig"):
        assert await resolve_api_key(store, bad, T0 + 1) is None


async def test_revoke_stops_the_key_at_once(store: Store) -> None:
    meta, key = await create_api_key(store, 3, "old", T0)
    keep, keep_key = await create_api_key(store, 3, "new", T0 + 1)
    with pytest.raises(NotFound):
        await revoke_api_key(store, 4, meta.id)  # another user's key id
    assert await resolve_api_key(store, key, T0 + 2) is not None
    await revoke_api_key(store, 3, meta.id)
    assert await resolve_api_key(store, key, T0 + 3) is None
    assert await store.redis.exists(store.keys.api_key_digest(meta.digest)) == 0
    assert [m.id for m in await list_api_keys(store, 3)] == [keep.id]
    assert await resolve_api_key(store, keep_key, T0 + 3) is not None
    with pytest.raises(NotFound):
        await revoke_api_key(store, 3, meta.id)


async def test_an_orphaned_digest_does_not_resolve(store: Store) -> None:
    meta, key = await create_api_key(store, 3, "k", T0)
    await store.redis.hdel(store.keys.api_keys(3), meta.id)  # e.g. a revoke cut off before its second step
    assert await resolve_api_key(store, key, T0) is None


async def test_last_used_is_touched_at_most_once_a_minute(store: Store) -> None:
    _, key = await create_api_key(store, 5, "k", T0)
    await resolve_api_key(store, key, T0 + 100)
    await resolve_api_key(store, key, T0 + 130)
    assert (await list_api_keys(store, 5))[0].last_used_at == T0 + 100
    await resolve_api_key(store, key, T0 + 161)
    assert (await list_api_keys(store, 5))[0].last_used_at == T0 + 161


async def test_name_is_validated_and_nothing_written(store: Store) -> None:
    for bad in ("", "   ", "n" * 65):
        with pytest.raises(InvalidInput):
            await create_api_key(store, 1, bad, T0)
    assert await store.redis.dbsize() == 0
    meta, _ = await create_api_key(store, 1, "n" * 64, T0)
    assert len(meta.name) == 64


async def test_at_most_twenty_keys_even_when_created_concurrently(store: Store) -> None:
    results = await asyncio.gather(
        *(create_api_key(store, 9, f"k{i}", T0) for i in range(MAX_KEYS_PER_USER + 5)), return_exceptions=True
    )
    assert sum(isinstance(result, LimitReached) for result in results) == 5
    assert len(await list_api_keys(store, 9)) == MAX_KEYS_PER_USER
    # A refused create leaves no digest behind.
    digests = [key async for key in store.redis.scan_iter(match=store.keys.api_key_digest("*"))]
    assert len(digests) == MAX_KEYS_PER_USER


async def test_a_burst_of_calls_with_a_stale_last_use_writes_it_once(store: Store) -> None:
    _, key = await create_api_key(store, 6, "k", T0)
    writes = 0
    transaction = store.redis.transaction

    async def counted(*args: object, **kwargs: object) -> object:
        nonlocal writes
        writes += 1
        await asyncio.sleep(0.05)  # a slow write: every call of the burst has read the stale time before it lands
        return await transaction(*args, **kwargs)  # type: ignore[arg-type]

    store.redis.transaction = counted  # type: ignore[method-assign]
    owners = await asyncio.gather(*(resolve_api_key(store, key, T0 + 100) for _ in range(20)))
    assert all(owner is not None for owner in owners) and writes == 1
    assert (await list_api_keys(store, 6))[0].last_used_at == T0 + 100
    await resolve_api_key(store, key, T0 + 161)
    assert writes == 2 and (await list_api_keys(store, 6))[0].last_used_at == T0 + 161
