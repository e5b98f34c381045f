"""A process-local copy of values read from the store, refreshed by one read at a time (single flight).

Used for what every request reads and few writes change: runtime config (core.store.config_cache) and upstream
health (core.relay.upstreams). When a copy is older than its TTL, one read of the store starts and the other callers
either wait for it (`serve_stale=False`: a change made elsewhere is seen by the first call after the TTL) or keep
the stale copy meanwhile (`serve_stale=True`: never a wait on the hot path once a copy exists). A failed refresh
keeps the old copy when there is one. `forget` drops a copy after this process's own write, so it is seen at once;
a read that was in flight when it was forgotten is not kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Slot(Generic[V]):
    """One cached value: when it was read, and the single read in flight (if any)."""

    __slots__ = ("generation", "loaded_at", "reading", "value")

    def __init__(self) -> None:
        self.value: V | None = None
        self.loaded_at = float("-inf")
        self.generation = 0  # bumped by `forget`: a read that started before it must not be kept
        self.reading: asyncio.Future[V] | None = None

    @property
    def loaded(self) -> bool:
        return self.loaded_at != float("-inf")


class SingleFlightCache(Generic[K, V]):
    """Values by key, each re-read at most once per `ttl` by one caller at a time."""

    def __init__(self, ttl: float, *, serve_stale: bool = False) -> None:
        self.ttl = ttl
        self.serve_stale = serve_stale
        self._slots: dict[K, _Slot[V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]], now: float, ttl: float | None = None) -> V:
        """Return the copy of `key`, reading it with `load()` when it is older than the TTL (`now` on one clock)."""
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
        if now - slot.loaded_at < (self.ttl if ttl is None else ttl):
            return slot.value  # type: ignore[return-value]
        if slot.reading is None:
            slot.reading = asyncio.ensure_future(self._read(slot, slot.generation, load, now))
            slot.reading.add_done_callback(_retrieve)  # a failed refresh nobody waited for is not an error
        elif self.serve_stale and slot.loaded:
            return slot.value  # type: ignore[return-value]
        try:
            return await asyncio.shield(slot.reading)
        except Exception:
            if not slot.loaded:
                raise
            return slot.value  # type: ignore[return-value]  # the store did not answer: keep working with the copy

    async def _read(self, slot: _Slot[V], generation: int, load: Callable[[], Awaitable[V]], now: float) -> V:
        try:
            value = await load()
        finally:
            if generation == slot.generation:  # else `forget` dropped this read and another may be running
                slot.reading = None
        if generation == slot.generation:
            slot.value, slot.loaded_at = value, now
        return value

    def forget(self, key: K) -> None:
        """Drop the copy of `key` (after a write through this process), so the next caller reads the store."""
        slot = self._slots.get(key)
        if slot is not None:
            slot.generation += 1
            slot.loaded_at = float("-inf")
            slot.value = None
            slot.reading = None

    def forget_where(self, matches: Callable[[K], bool]) -> None:
        """Drop every copy whose key matches."""
        for key in [key for key in self._slots if matches(key)]:
            self.forget(key)


def _retrieve(read: asyncio.Future[Any]) -> None:
    if not read.cancelled():
        read.exception()
