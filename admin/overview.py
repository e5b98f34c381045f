"""The overview page's charts: the figures of core.site.stats drawn as server-made SVG (admin.charts)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from quart import request

from admin.charts import Series, bar_chart, line_chart
from core.errors import InvalidInput
from core.site.stats import Overview, overview
from web.context import services
from web.i18n import t

MAX_MODELS_CHARTED = 7  # the rest are summed as "other"


def _yuan(fen: float) -> str:
    return f"¥{fen / 100:,.2f}"


def _percent(value: float) -> str:
    return f"{value:.0f}%"


def _per_model(found: Overview, labels: list[str], pick: str) -> list[Series]:
    totals: dict[str, int] = {}
    cells: dict[tuple[str, str], int] = {}
    for row in found.usage:
        value = row.requests if pick == "requests" else row.prompt_tokens + row.completion_tokens
        totals[row.model] = totals.get(row.model, 0) + value
        cells[(row.model, row.date)] = value
    ranked = sorted(totals, key=lambda model: -totals[model])
    shown, rest = ranked[:MAX_MODELS_CHARTED], ranked[MAX_MODELS_CHARTED:]
    series = [Series(model, [cells.get((model, day), 0) for day in labels]) for model in shown]
    if rest:
        series.append(Series(t("admin.chart.other"), [sum(cells.get((m, day), 0) for m in rest) for day in labels]))
    return series


def charts(found: Overview) -> dict[str, Markup]:
    """Draw every chart of the overview."""
    dates = [day.date for day in found.days]
    labels = [date[5:] for date in dates]  # MM-DD
    days = found.days
    upstream_rates = [
        Series(up.name, [c.success_rate * 100 if c.success_rate is not None else None for c in up.days])
        for up in found.upstreams
    ]
    upstream_latency = [
        Series(up.name, [float(c.mean_latency_ms) if c.mean_latency_ms is not None else None for c in up.days])
        for up in found.upstreams
    ]
    return {
        "users": bar_chart(t("admin.chart.users"), labels, [
            Series(t("admin.stat.new_users"), [d.new_users for d in days]),
            Series(t("admin.stat.active_users"), [d.active_users for d in days]),
        ]),
        "orders": bar_chart(t("admin.chart.orders"), labels, [
            Series(t("admin.stat.paid_orders"), [d.paid_orders for d in days]),
        ]),
        "money": bar_chart(t("admin.chart.money"), labels, [
            Series(t("admin.stat.revenue"), [d.revenue_fen for d in days]),
            Series(t("admin.stat.cost"), [d.cost_fen for d in days]),
        ], fmt=_yuan, least=100),
        "margin": line_chart(t("admin.chart.margin"), labels, [
            Series(t("admin.stat.margin"), [d.margin_fen for d in days]),
        ], fmt=_yuan, floor=None, least=100),
        "messages": bar_chart(t("admin.chart.messages"), labels,
                              _per_model(found, [d.date for d in days], "requests"), stacked=True),
        "tokens": bar_chart(t("admin.chart.tokens"), labels,
                            _per_model(found, [d.date for d in days], "tokens"), stacked=True),
        "success": line_chart(t("admin.chart.success"), labels, upstream_rates, fmt=_percent, least=100),
        "latency": line_chart(t("admin.chart.latency"), labels, upstream_latency),
    }  # fmt: skip


async def overview_context() -> dict[str, Any]:
    """Read the chosen range (default: the last 30 days) and return the page's figures and charts."""
    svc = services()
    start, end = request.args.get("from") or None, request.args.get("to") or None
    problem = ""
    try:
        found = await overview(svc.store, start, end, svc.clock())
    except InvalidInput as exc:
        problem = exc.message
        found = await overview(svc.store, None, None, svc.clock())
    return {"stats": found, "totals": found.totals(), "charts": charts(found), "range_problem": problem,
            "yuan": _yuan, "now_ts": svc.clock()}  # fmt: skip
