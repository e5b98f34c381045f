"""core.metrics in memory: histogram buckets are cumulative with inclusive bounds, series names are built once, and
counting writes nothing to the store until a flush adds it all in one pipeline."""

from __future__ import annotations

import pytest

from core import metrics as metrics_module
from core.metrics import BUCKETS, Metrics, render
from core.store.connection import Store
from tests.conftest import command_calls, reset_command_stats


def test_an_observation_counts_in_its_bucket_and_every_larger_one() -> None:
    metrics = Metrics(instance="t")
    for value in (0.005, 0.0051, 100.0, 0.0):
        metrics.observe("x_seconds", value, route="/a")
    buckets = {key: value for key, value in metrics.pending.items() if "_bucket" in key}
    assert buckets['x_seconds_bucket{le="0.005",route="/a"}'] == 2  # a bound holds what equals it
    assert buckets['x_seconds_bucket{le="0.01",route="/a"}'] == 3
    assert buckets['x_seconds_bucket{le="60.0",route="/a"}'] == 3
    assert buckets['x_seconds_bucket{le="+Inf",route="/a"}'] == 4
    assert len(buckets) == len(BUCKETS) + 1
    assert metrics.pending['x_seconds_count{route="/a"}'] == 4
    assert metrics.pending['x_seconds_sum{route="/a"}'] == 100.0101


def test_series_names_are_kept_within_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = Metrics(instance="t")
    monkeypatch.setattr(metrics_module, "NAMES_KEPT", 3)
    for index in range(10):
        metrics.inc("y_total", route=f"/{index}")
    assert len(metrics._names) <= 3
    assert len(metrics.pending) == 10 and metrics.pending['y_total{route="/9"}'] == 1


async def test_counting_writes_nothing_until_one_flush(store: Store) -> None:
    metrics = Metrics(instance="t")
    await reset_command_stats(store)
    for _ in range(100):
        metrics.inc("chatgate_channel_messages_total", channel="api", direction="in")
        metrics.observe("chatgate_http_request_duration_seconds", 0.01, app="webui", route="/x", method="GET")
    assert await command_calls(store, "hincrbyfloat") == 0
    await metrics.flush(store)
    histogram = len(BUCKETS) - 1 + 1 + 2  # the buckets from 0.01 up, +Inf, sum and count
    assert await command_calls(store, "hincrbyfloat") == histogram + 1  # one per series, not one per count
    assert 'chatgate_channel_messages_total{channel="api",direction="in"} 100' in await render(store)
