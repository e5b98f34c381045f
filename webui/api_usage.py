"""The signed-in user's usage per day and model, for the account page chart (`GET /api/usage?days=30`)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, g, request

from core.billing.usage import RETENTION_DAYS, user_usage
from core.errors import InvalidInput
from web.context import services
from webui.auth import allow_api_keys

bp = Blueprint("api_usage", __name__)


@bp.get("/api/usage")
@allow_api_keys
async def usage() -> dict[str, Any]:
    raw = request.args.get("days", "30")
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidInput(f"days must be a whole number from 1 to {RETENTION_DAYS}.", field="days")
    svc = services()
    rows = await user_usage(svc.store, g.user.id, int(raw), svc.clock())
    return {"days": [row.public() for row in rows]}
