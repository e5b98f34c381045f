"""Metrics: counted in each process, added into the store every few seconds, shown for all processes at once.

A process counts in memory (no store write on the request path) and `flush` adds what it counted since the last
flush into one store hash with HINCRBYFLOAT, so counters and histograms sum over every process of every machine
however many workers there are; gauges (streams open now) are each process's current value, written with a short
expiry and summed over the processes seen recently. `render` gives the Prometheus text format for the dashboard's
`GET /metrics`.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from redis.typing import EncodableT, FieldT

from core.store.connection import Store

BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
GAUGE_TTL_SECONDS = 60  # a process that stopped flushing drops out of the gauges after this long
NAMES_KEPT = 10_000  # series names memoised per process (far more than the bounded label sets ever make)

# name -> (type, help). Every metric ChatGate exports is listed here.
DEFINITIONS: dict[str, tuple[str, str]] = {
    "chatgate_http_requests_total": ("counter", "HTTP requests answered, by app, route, method and status."),
    "chatgate_http_request_duration_seconds": ("histogram", "Time to answer an HTTP request (to its first byte)."),
    "chatgate_upstream_requests_total": (
        "counter", "Requests sent to an upstream, by upstream and outcome (ok, failed: tried the next, refused: 4xx).",
    ),
    "chatgate_upstream_stream_faults_total": (
        "counter", "Answers an upstream broke off or left silent after its first byte, by upstream.",
    ),
    "chatgate_upstream_failovers_total": (
        "counter", "Calls answered by another upstream than the first tried, by model and the upstream that answered.",
    ),
    "chatgate_upstream_first_byte_seconds": ("histogram", "Time from sending to an upstream to its first event."),
    "chatgate_active_streams": ("gauge", "Answers being streamed right now, by channel."),
    "chatgate_quota_denials_total": (
        "counter", "Calls refused by a plan limit, by reason (the error code), model and channel.",
    ),
    "chatgate_moderation_blocks_total": ("counter", "Texts blocked by moderation, by direction, provider and channel."),
    "chatgate_payments_credited_total": ("counter", "Orders credited (each once), by provider and source."),
    "chatgate_payments_credited_fen_total": ("counter", "Money credited in fen (1/100 yuan), by provider and source."),
    "chatgate_channel_messages_total": (
        "counter", "Messages by channel (web, api, wechat, telegram) and direction (in: from users, out: to them).",
    ),
}  # fmt: skip


def _series(name: str, labels: dict[str, object]) -> str:
    if not labels:
        return name
    inner = ",".join(f'{key}="{_escape(str(value))}"' for key, value in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass
class Metrics:
    """This process's counts since the last flush, and its gauges.

    Counting is on every request's path, so the series names of a label set are built once and kept (`_names`; the
    label sets are small and bounded by design, and the memo is dropped should it ever grow past NAMES_KEPT).
    """

    instance: str
    pending: dict[str, float] = field(default_factory=dict)
    gauges: dict[str, float] = field(default_factory=dict)
    _names: dict[tuple[object, ...], tuple[str, ...]] = field(default_factory=dict, repr=False)

    def inc(self, name: str, amount: float = 1.0, /, **labels: object) -> None:
        key = self._series_of(("inc", name, *labels.items()), lambda: (_series(name, labels),))[0]
        self.pending[key] = self.pending.get(key, 0.0) + amount

    def observe(self, name: str, value: float, /, **labels: object) -> None:
        """Count one observation in a histogram (cumulative buckets, sum and count, as Prometheus expects)."""
        names = self._series_of(("observe", name, *labels.items()), lambda: _histogram_series(name, labels))
        pending = self.pending
        # names: one bucket per bound, then +Inf, sum and count; every bucket from the first bound >= value counts it
        for key in names[bisect.bisect_left(BUCKETS, value) : len(BUCKETS) + 1]:
            pending[key] = pending.get(key, 0.0) + 1.0
        total, count = names[-2], names[-1]
        pending[total] = pending.get(total, 0.0) + value
        pending[count] = pending.get(count, 0.0) + 1.0

    def add(self, name: str, delta: float, /, **labels: object) -> None:
        """Move a gauge (e.g. +1 when a stream opens, -1 when it ends)."""
        key = self._series_of(("add", name, *labels.items()), lambda: (_series(name, labels),))[0]
        self.gauges[key] = self.gauges.get(key, 0.0) + delta

    def _series_of(self, memo: tuple[object, ...], build: Callable[[], tuple[str, ...]]) -> tuple[str, ...]:
        names = self._names.get(memo)
        if names is None:
            if len(self._names) >= NAMES_KEPT:
                self._names.clear()
            names = self._names[memo] = build()
        return names

    async def flush(self, store: Store, now: float | None = None) -> None:
        """Add what this process counted into the store and publish its gauges."""
        moment = time.time() if now is None else now
        counted, self.pending = self.pending, {}
        keys = store.keys
        try:
            async with store.redis.pipeline(transaction=False) as pipe:
                for series, amount in counted.items():
                    pipe.hincrbyfloat(keys.metrics_counters(), series, amount)
                gauge_key = keys.metrics_gauges(self.instance)
                pipe.delete(gauge_key)
                if self.gauges:
                    published: dict[FieldT, EncodableT] = {series: value for series, value in self.gauges.items()}
                    pipe.hset(gauge_key, mapping=published)
                    pipe.expire(gauge_key, GAUGE_TTL_SECONDS)
                pipe.zadd(keys.metrics_instances(), {self.instance: moment})
                await pipe.execute()
        except Exception:
            for series, amount in counted.items():  # not lost: added again on the next flush
                self.pending[series] = self.pending.get(series, 0.0) + amount
            raise


def _histogram_series(name: str, labels: dict[str, object]) -> tuple[str, ...]:
    """The series of one histogram's label set: a bucket per bound, the +Inf bucket, the sum and the count."""
    buckets = [_series(f"{name}_bucket", {**labels, "le": _bound(bound)}) for bound in BUCKETS]
    buckets.append(_series(f"{name}_bucket", {**labels, "le": "+Inf"}))
    return (*buckets, _series(f"{name}_sum", labels), _series(f"{name}_count", labels))


def _bound(bound: float) -> str:
    return str(int(bound)) + ".0" if bound == math.floor(bound) else str(bound)


async def render(store: Store, now: float | None = None) -> str:
    """Return every metric of every process in the Prometheus text exposition format."""
    moment = time.time() if now is None else now
    keys = store.keys
    counters: dict[str, str] = await store.redis.hgetall(keys.metrics_counters())  # type: ignore[assignment]
    live = await store.redis.zrangebyscore(keys.metrics_instances(), moment - GAUGE_TTL_SECONDS, "+inf")
    gauges: dict[str, float] = {}
    for instance in live:
        found: dict[str, str] = await store.redis.hgetall(keys.metrics_gauges(str(instance)))  # type: ignore[assignment]
        for series, value in found.items():
            gauges[series] = gauges.get(series, 0.0) + float(value)
    values = {**{series: float(value) for series, value in counters.items()}, **gauges}
    lines: list[str] = []
    for name, (kind, help_text) in DEFINITIONS.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        mine = sorted(series for series in values if series.split("{", 1)[0].removesuffix(_suffix(series)) == name)
        lines += [f"{series} {_number(values[series])}" for series in mine]
    return "\n".join(lines) + "\n"


def _suffix(series: str) -> str:
    base = series.split("{", 1)[0]
    for suffix in ("_bucket", "_sum", "_count"):
        if base.endswith(suffix):
            return suffix
    return ""


def _number(value: float) -> str:
    return str(int(value)) if value == math.floor(value) and abs(value) < 2**53 else repr(value)
