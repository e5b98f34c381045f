"""Leases: one holder at a time across every process and machine, for background jobs (order reconciliation, the
Telegram poller, token refreshers).

A lease is ``lock:<name>`` holding a random holder token with a TTL. It is taken with SET NX PX, renewed every third
of its TTL only while the token is still ours (Lua RENEW_LEASE), and released only by its holder (RELEASE_LEASE). A
holder that dies stops renewing, so another process takes over within one TTL. `run_exclusive` runs a job under a
lease forever: when the lease is lost (the store restarted, a long pause), the job is cancelled and the process
competes again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

from core.store.connection import Store

log = logging.getLogger(__name__)


async def take_lease(store: Store, name: str, ttl: float) -> str | None:
    """Take the lease `name` for `ttl` seconds; return our holder token, or None when another process holds it."""
    token = secrets.token_hex(16)
    taken = await store.redis.set(store.keys.lock(name), token, nx=True, px=max(1, int(ttl * 1000)))
    return token if taken else None


async def renew_lease(store: Store, name: str, token: str, ttl: float) -> bool:
    """Extend our lease by `ttl` seconds; False when it is no longer ours."""
    return bool(await store.scripts.run("renew_lease", [store.keys.lock(name)], [token, max(1, int(ttl * 1000))]))


async def release_lease(store: Store, name: str, token: str) -> bool:
    """Give our lease back (a no-op when it is no longer ours)."""
    return bool(await store.scripts.run("release_lease", [store.keys.lock(name)], [token]))


@contextlib.asynccontextmanager
async def holding(store: Store, name: str, ttl: float) -> AsyncIterator[bool]:
    """Hold the lease while the block runs, renewing it; yield False (and hold nothing) when another process has it.

    The block is not interrupted if the lease is lost meanwhile: use it for short work; long-running jobs use
    `run_exclusive`, which cancels the job when the lease is lost.
    """
    token = await take_lease(store, name, ttl)
    if token is None:
        yield False
        return
    keeper = asyncio.ensure_future(_keep(store, name, token, ttl))
    try:
        yield True
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await keeper
        with contextlib.suppress(Exception):
            await release_lease(store, name, token)


async def _keep(store: Store, name: str, token: str, ttl: float) -> None:
    """Renew the lease every third of its TTL; return when it is lost."""
    while True:
        await asyncio.sleep(ttl / 3)
        try:
            if not await renew_lease(store, name, token, ttl):
                log.warning("lease %s was lost", name)
                return
        except Exception as exc:  # the store is unreachable: keep trying until the lease would have run out
            log.warning("lease %s could not be renewed: %s", name, type(exc).__name__)


async def run_exclusive(
    store: Store, name: str, job: Callable[[], Awaitable[None]], *, ttl: float = 30.0, retry: float | None = None
) -> None:
    """Run `job` in one process at a time, forever: compete for the lease, run the job while holding it (cancelled
    when the lease is lost), and compete again when it ends or fails. Returns only when cancelled."""
    retry = ttl / 3 if retry is None else retry
    while True:
        try:
            token = await take_lease(store, name, ttl)
        except Exception as exc:
            log.warning("lease %s could not be taken: %s", name, type(exc).__name__)
            token = None
        if token is None:
            await asyncio.sleep(retry)
            continue
        await _run_holding(store, name, token, job, ttl)
        await asyncio.sleep(retry)


async def _run_holding(store: Store, name: str, token: str, job: Callable[[], Awaitable[None]], ttl: float) -> None:
    work = asyncio.ensure_future(job())
    keeper = asyncio.ensure_future(_keep(store, name, token, ttl))
    try:
        done, _ = await asyncio.wait({work, keeper}, return_when=asyncio.FIRST_COMPLETED)
        if work in done and not work.cancelled() and work.exception() is not None:
            log.error("job %s failed", name, exc_info=work.exception())
    finally:
        for task in (work, keeper):
            task.cancel()
        await asyncio.gather(work, keeper, return_exceptions=True)
        with contextlib.suppress(Exception):
            await release_lease(store, name, token)
