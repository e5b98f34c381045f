"""How each upstream is doing: requests answered and failed, and time to the first byte, per day and per hour.

The relay counts in memory (`UpstreamStats.note`, no store write per request) and one background flush per second
adds the counts to ``up:day:<id>:<yyyymmdd>`` (kept RETENTION_DAYS, the dashboard's charts) and
``up:hour:<id>:<yyyymmddhh>`` (kept 8 days, the live success rate and latency) in one pipeline. Counts of a process
that dies between flushes (at most a second's) are lost: these are statistics, not money.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from core.days import day_stamp
from core.store.connection import Store

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
DAY_TTL_SECONDS = 400 * 86_400
HOUR_TTL_SECONDS = 8 * 86_400


def hour_stamp(now: float) -> str:
    """Return the UTC hour of `now` as yyyymmddhh."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y%m%d%H")


@dataclass
class Counts:
    ok: int = 0
    fail: int = 0
    latency_ms: int = 0  # summed over the answered requests

    @property
    def requests(self) -> int:
        return self.ok + self.fail

    @property
    def success_rate(self) -> float | None:
        return self.ok / self.requests if self.requests else None

    @property
    def mean_latency_ms(self) -> int | None:
        return round(self.latency_ms / self.ok) if self.ok else None

    def add(self, other: Counts) -> None:
        self.ok += other.ok
        self.fail += other.fail
        self.latency_ms += other.latency_ms


class UpstreamStats:
    """This process's unflushed counts, by (upstream id, hour)."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._pending: dict[tuple[str, float], Counts] = {}
        self._flusher: asyncio.Task[None] | None = None

    def note(self, upstream_id: str, ok: bool, latency_ms: int = 0) -> None:
        """Count one attempt on an upstream (answered: with its first-byte latency)."""
        now = self._clock()
        counts = self._pending.setdefault((upstream_id, now - now % 3600), Counts())
        if ok:
            counts.ok += 1
            counts.latency_ms += max(0, latency_ms)
        else:
            counts.fail += 1
        if self._flusher is None or self._flusher.done():
            with contextlib.suppress(RuntimeError):  # no running loop (a synchronous caller): flushed on close
                self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        try:
            await self.flush()
        except Exception as exc:  # statistics never break the relay; the counts are kept for the next flush
            log.warning("could not write upstream statistics: %s", type(exc).__name__)

    async def flush(self) -> None:
        """Add the pending counts to the store (one pipeline)."""
        pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            async with self._store.redis.pipeline(transaction=False) as pipe:
                for (upstream_id, hour), counts in pending.items():
                    for key, ttl in (
                        (self._store.keys.upstream_day_stats(upstream_id, day_stamp(hour)), DAY_TTL_SECONDS),
                        (self._store.keys.upstream_hour_stats(upstream_id, hour_stamp(hour)), HOUR_TTL_SECONDS),
                    ):
                        pipe.hincrby(key, "ok", counts.ok)
                        pipe.hincrby(key, "fail", counts.fail)
                        pipe.hincrby(key, "latency_ms", counts.latency_ms)
                        pipe.expire(key, ttl)
                await pipe.execute()
        except BaseException:
            for slot, counts in pending.items():  # keep them for the next flush
                self._pending.setdefault(slot, Counts()).add(counts)
            raise

    async def close(self) -> None:
        """Stop the flusher and write what is pending."""
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        with contextlib.suppress(Exception):
            await self.flush()


def _counts(fields: dict[str, str]) -> Counts:
    return Counts(int(fields.get("ok") or 0), int(fields.get("fail") or 0), int(fields.get("latency_ms") or 0))


async def daily_counts(store: Store, upstream_ids: Sequence[str], days: Sequence[str]) -> dict[str, list[Counts]]:
    """Return, per upstream, its counts on each of `days` (yyyymmdd), in one round trip."""
    async with store.redis.pipeline(transaction=False) as pipe:
        for upstream_id in upstream_ids:
            for day in days:
                pipe.hgetall(store.keys.upstream_day_stats(upstream_id, day))
        rows = await pipe.execute()
    width = len(days)
    return {uid: [_counts(row) for row in rows[i * width : (i + 1) * width]] for i, uid in enumerate(upstream_ids)}


async def recent_counts(store: Store, upstream_ids: Sequence[str], now: float, hours: int = 24) -> dict[str, Counts]:
    """Return, per upstream, its counts over the last `hours` hours (this hour included)."""
    stamps = [hour_stamp(now - 3600 * back) for back in range(hours)]
    async with store.redis.pipeline(transaction=False) as pipe:
        for upstream_id in upstream_ids:
            for stamp in stamps:
                pipe.hgetall(store.keys.upstream_hour_stats(upstream_id, stamp))
        rows = await pipe.execute()
    totals: dict[str, Counts] = {}
    for index, upstream_id in enumerate(upstream_ids):
        total = totals[upstream_id] = Counts()
        for row in rows[index * hours : (index + 1) * hours]:
            total.add(_counts(row))
    return totals
