"""The dashboard's overview: users, activity, usage per model, upstream cost against revenue, upstream health,
over a range of UTC days.

Everything is read from counters kept on write: ``idx:users`` (new users by creation time), ``{activity}:day:<d>``
(HyperLogLogs of users who chatted: PFCOUNT over several days counts each user once), ``usage:day:<d>`` (requests
and tokens per model), the upstream statistics (core.relay.upstream_stats) and the paid-orders ledger. Upstream
cost is tokens times each model's input and output price per million tokens (integer fen, set on the model) at its
current price; the margin is revenue minus that cost.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from core.billing.usage import RETENTION_DAYS, UsageRow, site_usage_on
from core.errors import InvalidInput
from core.relay.catalogue import Model, list_models
from core.relay.registry import list_upstreams
from core.relay.upstream_stats import Counts, daily_counts, recent_counts
from core.relay.upstreams import upstream_health
from core.site.revenue import revenue_by_day
from core.store.connection import Store

DEFAULT_DAYS = 30
SECONDS_PER_DAY = 86_400
TOKENS_PER_PRICE_UNIT = 1_000_000


@dataclass
class DayStats:
    date: str
    new_users: int = 0
    active_users: int = 0
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_fen: int = 0
    revenue_fen: int = 0
    paid_orders: int = 0

    @property
    def margin_fen(self) -> int:
        return self.revenue_fen - self.cost_fen

    def public(self) -> dict[str, Any]:
        return {**asdict(self), "margin_fen": self.margin_fen}


@dataclass
class UpstreamStatsView:
    id: str
    name: str
    enabled: bool
    days: list[Counts]
    last_24h: Counts
    fails: int
    benched_until: float
    last_error: str

    def public(self) -> dict[str, Any]:
        def one(counts: Counts) -> dict[str, Any]:
            return {"ok": counts.ok, "fail": counts.fail, "success_rate": counts.success_rate,
                    "latency_ms": counts.mean_latency_ms}  # fmt: skip

        return {
            "id": self.id, "name": self.name, "enabled": self.enabled, "days": [one(c) for c in self.days],
            "last_24h": one(self.last_24h), "fails": self.fails, "benched_until": self.benched_until,
            "last_error": self.last_error,
        }  # fmt: skip


@dataclass
class Overview:
    start: str
    end: str
    users_total: int
    users_new_today: int
    users_new_7d: int
    active_today: int
    active_7d: int
    active_in_range: int
    days: list[DayStats]
    usage: list[UsageRow]
    upstreams: list[UpstreamStatsView] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        keys = ("requests", "prompt_tokens", "completion_tokens", "cost_fen", "revenue_fen", "paid_orders")
        totals = {key: sum(getattr(day, key) for day in self.days) for key in keys}
        totals["margin_fen"] = totals["revenue_fen"] - totals["cost_fen"]
        totals["new_users"] = sum(day.new_users for day in self.days)
        return totals

    def public(self) -> dict[str, Any]:
        return {
            "from": self.start, "to": self.end,
            "users": {"total": self.users_total, "new_today": self.users_new_today, "new_7d": self.users_new_7d,
                      "active_today": self.active_today, "active_7d": self.active_7d,
                      "active_in_range": self.active_in_range},
            "totals": self.totals(),
            "days": [day.public() for day in self.days],
            "models": [row.public() for row in self.usage],
            "upstreams": [upstream.public() for upstream in self.upstreams],
        }  # fmt: skip


def parse_range(start: str | None, end: str | None, now: float) -> list[date]:
    """Return the days from `start` to `end` (YYYY-MM-DD, both included; default: the last 30 days)."""
    today = datetime.fromtimestamp(now, UTC).date()
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError as exc:
        raise InvalidInput("Dates are written YYYY-MM-DD.", field="from" if start else "to") from exc
    if first > last:
        raise InvalidInput("from must not be after to.", field="from")
    if (last - first).days + 1 > RETENTION_DAYS:
        raise InvalidInput(f"A range covers at most {RETENTION_DAYS} days.", field="from")
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _stamp(day: date) -> str:
    return day.strftime("%Y%m%d")


def _start_of(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


async def _user_counts(store: Store, days: list[date], now: float) -> tuple[list[int], list[int], int, list[int]]:
    """New users per day, active users per day, active users over the range, and [total, new today, new 7d,
    active today, active 7d]."""
    today = datetime.fromtimestamp(now, UTC).date()
    last7 = [_stamp(today - timedelta(days=back)) for back in range(7)]
    async with store.redis.pipeline(transaction=False) as pipe:
        for day in days:
            pipe.zcount(store.keys.users_index(), _start_of(day), f"({_start_of(day) + SECONDS_PER_DAY}")
        for day in days:
            _pfcount(pipe, store.keys.active_day(_stamp(day)))
        _pfcount(pipe, *(store.keys.active_day(_stamp(day)) for day in days))  # one slot: {activity}
        pipe.zcard(store.keys.users_index())
        pipe.zcount(store.keys.users_index(), _start_of(today), "+inf")
        pipe.zcount(store.keys.users_index(), _start_of(today - timedelta(days=6)), "+inf")
        _pfcount(pipe, store.keys.active_day(last7[0]))
        _pfcount(pipe, *(store.keys.active_day(stamp) for stamp in last7))
        replies = [int(value) for value in await pipe.execute()]
    count = len(days)
    return replies[:count], replies[count : 2 * count], replies[2 * count], replies[2 * count + 1 :]


def _pfcount(pipe: Any, *keys: str) -> None:
    """Queue a PFCOUNT: by name, because redis-py's cluster pipeline refuses its `pfcount` method (the keys here
    share the {activity} slot, so the command itself is fine in a cluster)."""
    pipe.execute_command("PFCOUNT", *keys)


def cost_fen(row: UsageRow, model: Model | None) -> float:
    """Return what a usage row cost upstream, in fen (fractional), at the model's current prices."""
    if model is None:
        return 0.0
    spent = row.prompt_tokens * model.input_price + row.completion_tokens * model.output_price
    return spent / TOKENS_PER_PRICE_UNIT


async def overview(store: Store, start: str | None, end: str | None, now: float) -> Overview:
    """Return the overview of the days from `start` to `end` (YYYY-MM-DD)."""
    days = parse_range(start, end, now)
    new, active, active_range, (total, new_today, new_7d, active_today, active_7d) = await _user_counts(
        store, days, now
    )
    usage = await site_usage_on(store, [_stamp(day) for day in days])
    models = {model.id: model for model in await list_models(store)}
    revenue = await revenue_by_day(store, [day.isoformat() for day in days])
    table = {day.isoformat(): DayStats(day.isoformat()) for day in days}
    for index, day in enumerate(days):
        stats = table[day.isoformat()]
        stats.new_users, stats.active_users = new[index], active[index]
        stats.revenue_fen, stats.paid_orders = revenue.get(day.isoformat(), (0, 0))
    costs: dict[str, float] = {}
    for row in usage:
        stats = table[row.date]
        stats.requests += row.requests
        stats.prompt_tokens += row.prompt_tokens
        stats.completion_tokens += row.completion_tokens
        costs[row.date] = costs.get(row.date, 0.0) + cost_fen(row, models.get(row.model))
    for day_name, spent in costs.items():
        table[day_name].cost_fen = round(spent)
    return Overview(
        start=days[0].isoformat(), end=days[-1].isoformat(), users_total=total, users_new_today=new_today,
        users_new_7d=new_7d, active_today=active_today, active_7d=active_7d, active_in_range=active_range,
        days=list(table.values()), usage=usage, upstreams=await upstream_views(store, days, now),
    )  # fmt: skip


async def upstream_views(store: Store, days: list[date], now: float) -> list[UpstreamStatsView]:
    """Return each upstream's daily counts over `days`, its last 24 hours and its health."""
    upstreams = await list_upstreams(store)
    ids = [upstream.id for upstream in upstreams]
    if not ids:
        return []
    per_day = await daily_counts(store, ids, [_stamp(day) for day in days])
    recent = await recent_counts(store, ids, now)
    health = await upstream_health(store, ids)
    return [
        UpstreamStatsView(
            id=up.id,
            name=up.name or up.id,
            enabled=up.enabled,
            days=per_day[up.id],
            last_24h=recent[up.id],
            fails=health[up.id].fails,
            benched_until=health[up.id].benched_until,
            last_error=health[up.id].last_error,
        )
        for up in upstreams
    ]
