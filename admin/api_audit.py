"""Audit log API (issue 11, item 10): every change made through the dashboard, filtered by actor and action."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request

from admin.auth import require_admin
from core.errors import InvalidInput
from core.site.audit import list_audit
from web.context import services

bp = Blueprint("admin_audit", __name__)


@bp.get("/api/audit")
@require_admin
async def audit() -> dict[str, Any]:
    actor = request.args.get("actor", "").strip()
    if actor and not actor.isdigit():
        raise InvalidInput("actor is an administrator's user id.", field="actor")
    page = await list_audit(
        services().store, actor_id=int(actor) if actor else None, action=request.args.get("action", "").strip() or None,
        cursor=request.args.get("cursor") or None,
    )  # fmt: skip
    return {"entries": [entry.public() for entry in page.entries], "next_cursor": page.next_cursor}
