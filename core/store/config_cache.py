"""This process's copy of runtime config (models, plans), re-read from the store at most every second.

Runtime config is edited by admins while every process runs. A change made through this process's store client is
seen at once (the writers in core.relay.catalogue / core.billing.plans call `forget_config`), a change made by another process by the
first call more than CONFIG_CACHE_SECONDS after the copy was read. The copy hangs off the store client, so a new
client (a test, a restart) starts cold. Only runtime config belongs here: per-user state (API keys, blocked flags,
subscriptions, quotas) is always read from the store, so revoking a key or blocking a user takes effect on the next
request.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis

from core.store.connection import Store

CONFIG_CACHE_SECONDS = 1.0
T = TypeVar("T")


class _Slot:
    """One cached value: when it was read, and the single read in flight (if any)."""

    __slots__ = ("generation", "loaded_at", "reading", "value")

    def __init__(self) -> None:
        self.value: Any = None
        self.loaded_at = float("-inf")
        self.generation = 0  # bumped by `forget`: a read that started before it must not be kept
        self.reading: asyncio.Future[Any] | None = None


_SLOTS: weakref.WeakKeyDictionary[Redis, dict[str, _Slot]] = weakref.WeakKeyDictionary()


async def cached_config(
    store: Store,
    name: str,
    load: Callable[[Store], Awaitable[T]],
    ttl: float | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> T:
    """Return `load(store)`, read at most once per `ttl` seconds (default CONFIG_CACHE_SECONDS) by this process.

    Single flight: when the copy is stale, one read of the store is started and every caller waits for it, so the
    first request after a change made elsewhere already sees it (one extra round trip per TTL, not per request).
    If that read fails, the stale copy is served (and the next call tries again); with no copy, the error is raised.
    """
    slots = _SLOTS.get(store.redis)
    if slots is None:
        slots = _SLOTS[store.redis] = {}
    slot = slots.get(name)
    if slot is None:
        slot = slots[name] = _Slot()
    now = monotonic()
    if now - slot.loaded_at < (CONFIG_CACHE_SECONDS if ttl is None else ttl):
        return slot.value
    if slot.reading is None:
        slot.reading = asyncio.ensure_future(_read(slot, slot.generation, store, load, now))
        slot.reading.add_done_callback(_retrieve)  # a failed refresh nobody waited for is not an unhandled error
    try:
        return await asyncio.shield(slot.reading)
    except Exception:
        if slot.loaded_at == float("-inf"):
            raise
        return slot.value  # the store did not answer this time: keep working with the copy we have


async def _read(slot: _Slot, generation: int, store: Store, load: Callable[[Store], Awaitable[T]], now: float) -> T:
    try:
        value = await load(store)
    finally:
        if generation == slot.generation:  # else `forget_config` dropped this read and another may be running
            slot.reading = None
    if generation == slot.generation:
        slot.value, slot.loaded_at = value, now
    return value


def _retrieve(read: asyncio.Future[Any]) -> None:
    if not read.cancelled():
        read.exception()


def forget_config(store: Store, name: str) -> None:
    """Drop this process's copy of `name` after a write, so the next reader sees the change at once."""
    slot = (_SLOTS.get(store.redis) or {}).get(name)
    if slot is not None:
        slot.generation += 1
        slot.loaded_at = float("-inf")
        slot.value = None
        slot.reading = None
