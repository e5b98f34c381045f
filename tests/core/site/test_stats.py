"""The overview's figures come from the counters kept on write: users, activity, usage per model, cost at each
model's prices against revenue, and upstream statistics."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.accounts.registration import register_user
from core.billing.usage import record_usage
from core.errors import InvalidInput
from core.relay.catalogue import Model, Upstream, save_model
from core.relay.upstream_stats import UpstreamStats
from core.settings import Settings
from core.site.revenue import record_revenue
from core.site.stats import overview, parse_range
from core.store.connection import Store

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC).timestamp()
DAY = 86_400


async def test_figures_over_a_range(store: Store, settings: Settings) -> None:
    users = [
        await register_user(
            store, settings, None, email=f"u{i}@example.com", password="password 123", now=NOW - i * DAY
        )
        for i in range(3)
    ]  # today, yesterday, the day before
    upstream = Upstream(id="relay", base_url="http://127.0.0.1:9/v1", keys=["sk-test-key-1234"], name="Relay")
    # 2 yuan per million prompt tokens, 8 per million completion tokens
    await save_model(store, Model(id="m1", name="M1", upstreams=[upstream], input_price=200, output_price=800))
    await record_usage(store, users[0].id, "m1", 1_000_000, 500_000, NOW)  # cost 2 + 4 = 6 yuan
    await record_usage(store, users[1].id, "m1", 10, 20, NOW)
    await record_usage(store, users[1].id, "m2", 5, 5, NOW - DAY)  # a model with no price record: no cost
    await record_revenue(store, 2990, NOW)
    await record_revenue(store, 990, NOW - DAY)
    stats = UpstreamStats(store, clock=lambda: NOW)
    stats.note("relay", ok=True, latency_ms=100)
    stats.note("relay", ok=True, latency_ms=300)
    stats.note("relay", ok=False)
    await stats.close()

    found = await overview(store, "2026-03-08", "2026-03-10", NOW)
    data = found.public()
    assert [day["date"] for day in data["days"]] == ["2026-03-08", "2026-03-09", "2026-03-10"]
    assert [day["new_users"] for day in data["days"]] == [1, 1, 1]
    assert [day["active_users"] for day in data["days"]] == [0, 1, 2]
    assert data["users"] == {"total": 3, "new_today": 1, "new_7d": 3, "active_today": 2, "active_7d": 2,
                             "active_in_range": 2}  # fmt: skip
    today = data["days"][-1]
    assert (today["requests"], today["prompt_tokens"], today["completion_tokens"]) == (2, 1_000_010, 500_020)
    assert (today["cost_fen"], today["revenue_fen"], today["margin_fen"], today["paid_orders"]) == (600, 2990, 2390, 1)
    assert data["totals"]["revenue_fen"] == 3980 and data["totals"]["margin_fen"] == 3980 - 600
    assert {(row["date"], row["model"], row["requests"]) for row in data["models"]} == {
        ("2026-03-09", "m2", 1), ("2026-03-10", "m1", 2)}  # fmt: skip
    [relay] = data["upstreams"]
    assert relay["days"][-1] == {"ok": 2, "fail": 1, "success_rate": 2 / 3, "latency_ms": 200}
    assert relay["last_24h"]["ok"] == 2 and relay["name"] == "Relay"


def test_ranges() -> None:
    assert len(parse_range(None, None, NOW)) == 30
    assert [d.isoformat() for d in parse_range("2026-02-27", "2026-03-01", NOW)] == [
        "2026-02-27", "2026-02-28", "2026-03-01"]  # fmt: skip
    for start, end in [("2026-03-02", "2026-03-01"), ("yesterday", None), ("2024-01-01", "2026-01-01")]:
        with pytest.raises(InvalidInput):
            parse_range(start, end, NOW)
