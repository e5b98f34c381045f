"""The upstream registry (hash cfg:upstreams): each upstream kept once, keys included; models name them by id.

Saving an upstream changes it for every model that names it, in this process at once and in others within a
second (the models' cached copy is dropped: core.relay.catalogue reads both hashes together).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson
from redis.asyncio.client import Pipeline

from core.errors import InvalidInput
from core.relay.catalogue import CONFIG_NAME, Upstream, read_all, registry_of
from core.store.config_cache import forget_config
from core.store.connection import Store


async def list_upstreams(store: Store) -> list[Upstream]:
    """Return every upstream of the registry, by priority (highest first) then id."""
    raw: dict[str, str] = await store.redis.hgetall(store.keys.upstreams())  # type: ignore[assignment]
    upstreams = registry_of(raw)
    return sorted(upstreams.values(), key=lambda upstream: (-upstream.priority, upstream.id))


async def get_upstream(store: Store, upstream_id: str) -> Upstream | None:
    """Return one upstream of the registry, or None."""
    raw = await store.redis.hget(store.keys.upstreams(), upstream_id)
    return Upstream.from_dict(orjson.loads(raw)) if raw else None


async def save_upstream(store: Store, upstream: Upstream) -> None:
    """Validate and store an upstream (create or replace); every model naming its id uses it from now on."""
    upstream.validate()
    await store.redis.hset(store.keys.upstreams(), upstream.id, orjson.dumps(asdict(upstream)).decode())
    forget_config(store, CONFIG_NAME)


async def delete_upstream(store: Store, upstream_id: str) -> bool:
    """Remove an upstream from the registry (models still naming it skip it); True when it existed."""
    deleted = bool(await store.redis.hdel(store.keys.upstreams(), upstream_id))
    forget_config(store, CONFIG_NAME)
    return deleted


async def migrate_upstreams(store: Store) -> int:
    """Move upstreams that models still carry whole into the registry (HSETNX: the registry wins); return how many
    models were rewritten to name them by id. Safe to run on every start."""
    raw, registry = await read_all(store)
    rewritten = 0
    for model_id, value in raw.items():
        data = orjson.loads(value)
        items = data.get("upstreams") if isinstance(data, dict) else None
        if not isinstance(items, list) or all(isinstance(item, str) for item in items):
            continue
        for item in items:
            if isinstance(item, dict) and item.get("id") not in registry:
                try:
                    upstream = Upstream.from_dict(item)
                except InvalidInput:
                    continue  # unusable before the move too; the model just no longer names it
                await store.redis.hsetnx(store.keys.upstreams(), upstream.id, orjson.dumps(asdict(upstream)).decode())
        data["upstreams"] = [item if isinstance(item, str) else item.get("id") for item in items]
        await store.redis.hset(store.keys.models(), model_id, orjson.dumps(data).decode())
        rewritten += 1
    forget_config(store, CONFIG_NAME)
    return rewritten


async def stamp_model_times(store: Store, now: float) -> int:
    """Give models stored before they had a `created` time this start's time (what /v1/models shows from then on);
    return how many were stamped. One WATCH/MULTI step: a dashboard edit made meanwhile retries it, never lost."""
    key = store.keys.models()

    async def stamp(pipe: Pipeline) -> int:
        raw = await pipe.hgetall(key)
        missing: dict[Any, Any] = {}
        for model_id, value in raw.items():
            data = orjson.loads(value)
            if isinstance(data, dict) and not data.get("created"):
                missing[model_id] = orjson.dumps({**data, "created": int(now)}).decode()
        pipe.multi()
        if missing:
            pipe.hset(key, mapping=missing)
        return len(missing)

    stamped: int = await store.redis.transaction(stamp, key, value_from_callable=True)
    if stamped:
        forget_config(store, CONFIG_NAME)
    return stamped
