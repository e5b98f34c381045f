"""Moving the data between stores: `chatgate store export FILE` and `chatgate store import FILE`.

The file is JSON lines, one key per line with its type, its value and its remaining lifetime: portable between any
Redis-protocol servers (the embedded one, Valkey, Redis, a managed Redis, a cluster), unlike DUMP payloads, whose
format changes between versions. Only the keys under this deployment's prefix are exported (SCAN, an offline tool:
never on a request path). Import writes every key as exported (replacing one that exists) and refuses a store that
already holds this deployment's keys unless told to overwrite.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidInput
from core.store.connection import Store

SUPPORTED = ("string", "hash", "list", "set", "zset", "stream")
BATCH = 500


@dataclass(frozen=True)
class Transferred:
    keys: int
    by_type: dict[str, int]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


async def _read(store: Store, key: str, kind: str) -> Any:
    redis = store.redis
    if kind == "string":
        return await redis.get(key)
    if kind == "hash":
        return await redis.hgetall(key)
    if kind == "list":
        return await redis.lrange(key, 0, -1)
    if kind == "set":
        return sorted(await redis.smembers(key))
    if kind == "zset":
        scored: list[tuple[str, float]] = await redis.zrange(key, 0, -1, withscores=True)  # type: ignore[assignment]
        return [[member, score] for member, score in scored]
    entries = await redis.xrange(key) or []
    return [[entry_id, fields] for entry_id, fields in entries]


async def export_lines(store: Store) -> AsyncIterator[str]:
    """Yield one JSON line per key of this deployment (its prefix), with type, value and remaining TTL in ms."""
    async for key in store.redis.scan_iter(match=f"{store.keys.base}:*", count=BATCH):
        name = _text(key)
        kind = _text(await store.redis.type(name))
        if kind not in SUPPORTED:
            continue
        value = await _read(store, name, kind)
        if value is None:  # expired between SCAN and the read
            continue
        ttl = int(await store.redis.pttl(name))
        yield json.dumps({"key": name, "type": kind, "ttl_ms": ttl if ttl > 0 else None, "value": value},
                         ensure_ascii=False)  # fmt: skip


async def import_lines(store: Store, lines: Iterable[str], *, overwrite: bool = False) -> Transferred:
    """Write every exported key into this store; refuse a store that already has data of this prefix."""
    if not overwrite:
        async for _ in store.redis.scan_iter(match=f"{store.keys.base}:*", count=BATCH):
            raise InvalidInput("The store already holds ChatGate data; import only into an empty one.")
    counts: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            kind = entry["type"]
            await _write(store, str(entry["key"]), kind, entry["value"], entry.get("ttl_ms"))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"Line {number} is not an exported key: {type(exc).__name__}.") from exc
        counts[kind] = counts.get(kind, 0) + 1
    return Transferred(sum(counts.values()), counts)


async def _write(store: Store, key: str, kind: str, value: Any, ttl_ms: int | None) -> None:
    if kind not in SUPPORTED:
        raise ValueError(kind)
    async with store.redis.pipeline(transaction=True) as pipe:  # one key: one slot
        pipe.delete(key)
        if kind == "string":
            pipe.set(key, value)
        elif kind == "hash" and value:
            pipe.hset(key, mapping=value)
        elif kind == "list" and value:
            pipe.rpush(key, *value)
        elif kind == "set" and value:
            pipe.sadd(key, *value)
        elif kind == "zset" and value:
            pipe.zadd(key, {member: float(score) for member, score in value})
        elif kind == "stream":
            for entry_id, fields in value:
                pipe.xadd(key, fields, id=entry_id)
        if ttl_ms:
            pipe.pexpire(key, int(ttl_ms))
        await pipe.execute()
