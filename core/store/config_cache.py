"""This process's copy of runtime config (models, plans), re-read from the store at most every second.

Runtime config is edited by admins while every process runs. A change made through this process's store client is
seen at once (the writers in core.relay.catalogue and core.billing.plans call `forget_config`), a change made by
another process by the first call more than CONFIG_CACHE_SECONDS after the copy was read. The copy is the store
handle's (`Store.config`), so a new handle (a test, a restart) starts cold. Only runtime config belongs here:
per-user state (API keys, blocked flags, subscriptions, quotas) is always read from the store, so revoking a key or
blocking a user takes effect on the next request.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from core.store.connection import Store

CONFIG_CACHE_SECONDS = 1.0
T = TypeVar("T")


async def cached_config(
    store: Store,
    name: str,
    load: Callable[[Store], Awaitable[T]],
    ttl: float | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> T:
    """Return `load(store)`, read at most once per `ttl` seconds (default CONFIG_CACHE_SECONDS) by this process.

    Single flight (core.store.single_flight): when the copy is stale, one read of the store is started and every
    caller waits for it, so the first request after a change made elsewhere already sees it (one extra round trip
    per TTL, not per request). If that read fails, the stale copy is served; with no copy, the error is raised.
    """
    return await store.config.get(
        name, lambda: load(store), monotonic(), ttl=CONFIG_CACHE_SECONDS if ttl is None else ttl
    )


def forget_config(store: Store, name: str) -> None:
    """Drop this process's copy of `name` after a write, so the next reader sees the change at once."""
    store.config.forget(name)
