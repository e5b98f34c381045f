"""Metrics: counted in each process, added into the store every few seconds, shown for all processes at once.

A process counts in memory (no store write on the request path) and `flush` adds what it counted since the last
flush into one store hash with HINCRBYFLOAT, so counters and histograms sum over every process of every machine
however many workers there are; gauges (streams open now) are each process's current value, written with a short
expiry and summed over the processes seen recently. `render` gives the Prometheus text format for the dashboard's
`GET /metrics`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from redis.typing import EncodableT, FieldT

from core.store.connection import Store

BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
GAUGE_TTL_SECONDS = 60  # a process that stopped flushing drops out of the gauges after this long

# name -> (type, help). Every metric ChatGate exports is listed here.
DEFINITIONS: dict[str, tuple[str, str]] = {
    "chatgate_http_requests_total": ("counter", "HTTP requests answered, by app, route, method and status."),
    "chatgate_http_request_duration_seconds": ("histogram", "Time to answer an HTTP request (to its first byte)."),
    "chatgate_upstream_requests_total": ("counter", "Requests sent to an upstream, by upstream and outcome."),
    "chatgate_upstream_failovers_total": ("counter", "Calls answered by another upstream than the first tried."),
    "chatgate_upstream_first_byte_seconds": ("histogram", "Time from sending to an upstream to its first event."),
    "chatgate_active_streams": ("gauge", "Answers being streamed right now."),
    "chatgate_quota_denials_total": ("counter", "Calls refused by a plan limit, by model and reason."),
    "chatgate_moderation_blocks_total": ("counter", "Texts blocked by moderation, by direction and provider."),
    "chatgate_payments_credited_total": ("counter", "Orders credited (each once)."),
    "chatgate_channel_messages_total": ("counter", "Messages received by a bot channel, by channel."),
}


Labels = tuple[tuple[str, object], ...]
MAX_NAMES = 4096  # distinct (metric, label set) names a process keeps built; label sets are few (route rules, ...)


def _series(name: str, labels: Labels) -> str:
    if not labels:
        return name
    inner = ",".join(f'{key}="{_escape(str(value))}"' for key, value in sorted(labels))
    return f"{name}{{{inner}}}"


def _histogram_series(name: str, labels: Labels) -> tuple[str, ...]:
    """Return a histogram's series: one per bucket of BUCKETS, then +Inf, _sum and _count."""
    bucket = f"{name}_bucket"
    bounded = [_series(bucket, (*labels, ("le", _bound(bound)))) for bound in BUCKETS]
    return (*bounded, _series(bucket, (*labels, ("le", "+Inf"))), _series(f"{name}_sum", labels),
            _series(f"{name}_count", labels))  # fmt: skip


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass
class Metrics:
    """This process's counts since the last flush, and its gauges."""

    instance: str
    pending: dict[str, float] = field(default_factory=dict)
    gauges: dict[str, float] = field(default_factory=dict)
    names: dict[object, tuple[str, ...]] = field(default_factory=dict, repr=False)  # built series names (`_names`)

    def inc(self, name: str, amount: float = 1.0, /, **labels: object) -> None:
        (key,) = self._names(_series, name, labels)
        self.pending[key] = self.pending.get(key, 0.0) + amount

    def observe(self, name: str, value: float, /, **labels: object) -> None:
        """Count one observation in a histogram (cumulative buckets, sum and count, as Prometheus expects)."""
        *buckets, infinite, total, count = self._names(_histogram_series, name, labels)
        pending = self.pending
        for bound, series in zip(BUCKETS, buckets, strict=True):
            if value <= bound:
                pending[series] = pending.get(series, 0.0) + 1.0
        for series, amount in ((infinite, 1.0), (total, value), (count, 1.0)):
            pending[series] = pending.get(series, 0.0) + amount

    def _names(
        self, build: Callable[[str, Labels], str | tuple[str, ...]], name: str, labels: dict[str, object]
    ) -> tuple[str, ...]:
        """Return the series names of a metric and label set, built once per process (a request counts ~20 series,
        a histogram is 16: formatting and escaping them on every request was a measurable share of /v1's CPU)."""
        items = tuple(labels.items())
        key: object = (build, name, items)
        try:
            found = self.names.get(key)
        except TypeError:  # a label value that cannot be a key: built each time
            found, key = None, None
        if found is None:
            built = build(name, items)
            found = (built,) if isinstance(built, str) else built
            if key is not None:
                if len(self.names) >= MAX_NAMES:
                    self.names.clear()
                self.names[key] = found
        return found

    def add(self, name: str, delta: float, /, **labels: object) -> None:
        """Move a gauge (e.g. +1 when a stream opens, -1 when it ends)."""
        (key,) = self._names(_series, name, labels)
        self.gauges[key] = self.gauges.get(key, 0.0) + delta

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
