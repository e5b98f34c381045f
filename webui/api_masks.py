"""The built-in prompt masks, in the request's language: `GET /api/masks` -> `{"masks": [...]}`."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from core.chat.masks import list_masks
from web.i18n import request_language
from webui.auth import require_user

bp = Blueprint("api_masks", __name__)


@bp.get("/api/masks")
@require_user
async def masks() -> dict[str, Any]:
    return {"masks": list_masks(request_language())}
