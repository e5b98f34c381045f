"""Upstream statistics: counted in memory, flushed to per-day and per-hour counters (by a flusher of their own),
read back for the dashboard."""

from __future__ import annotations

import asyncio

from core.relay import upstream_stats
from core.relay.upstream_stats import UpstreamStats, daily_counts, recent_counts
from core.store.connection import Store

NOW = 1_773_144_000.0  # 2026-03-10 12:00 UTC


async def test_counts_reach_the_store(store: Store) -> None:
    stats = UpstreamStats(store, clock=lambda: NOW)
    stats.note("a", ok=True, latency_ms=120)
    stats.note("a", ok=False)
    stats.note("b", ok=True, latency_ms=30)
    await stats.flush()
    stats.note("a", ok=True, latency_ms=80)
    await stats.close()
    days = await daily_counts(store, ["a", "b"], ["20260310", "20260309"])
    assert (days["a"][0].ok, days["a"][0].fail, days["a"][0].mean_latency_ms) == (2, 1, 100)
    assert days["a"][1].requests == 0 and days["b"][0].success_rate == 1.0
    recent = await recent_counts(store, ["a"], NOW + 3600)
    assert recent["a"].requests == 3


async def test_the_flusher_runs_by_itself(store: Store) -> None:
    upstream_stats.FLUSH_SECONDS, saved = 0.01, upstream_stats.FLUSH_SECONDS
    try:
        stats = UpstreamStats(store, clock=lambda: NOW)
        stats.note("a", ok=True, latency_ms=10)
        for _ in range(200):
            if (await daily_counts(store, ["a"], ["20260310"]))["a"][0].ok:
                break
            await asyncio.sleep(0.01)
        assert (await daily_counts(store, ["a"], ["20260310"]))["a"][0].ok == 1
        await stats.close()
    finally:
        upstream_stats.FLUSH_SECONDS = saved
