"""`GET /metrics` on the dashboard's port: every process's metrics in the Prometheus text format (core.metrics).

Open like a health check (a scraper holds no session); the port is loopback-only by default and answers only to
ADMIN_ALLOWED_HOSTS, and the metrics hold no secret and no user data.
"""

from __future__ import annotations

from quart import Blueprint, Response

from core.metrics import render
from web.context import services

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
async def metrics() -> Response:
    svc = services()
    await svc.metrics.flush(svc.store)  # this process's latest counts too
    return Response(await render(svc.store), content_type=CONTENT_TYPE)
