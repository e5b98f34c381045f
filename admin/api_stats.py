"""Overview statistics API (issue 11, item 1): `GET /api/stats?from=YYYY-MM-DD&to=YYYY-MM-DD`."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request

from admin.auth import require_admin
from core.site.stats import overview
from web.context import services

bp = Blueprint("admin_stats", __name__)


@bp.get("/api/stats")
@require_admin
async def stats() -> dict[str, Any]:
    svc = services()
    found = await overview(svc.store, request.args.get("from") or None, request.args.get("to") or None, svc.clock())
    return found.public()
