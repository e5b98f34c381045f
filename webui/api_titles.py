"""`POST /api/conversations/<id>/title`: have a model title the conversation from its first exchange (once; free of
the user's quota; core.chat.titles) -> the conversation as it is afterwards."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, g

from core.chat.titles import generate_title
from web.context import services
from webui.auth import require_user

bp = Blueprint("api_titles", __name__)


@bp.post("/api/conversations/<cid>/title")
@require_user
async def title(cid: str) -> dict[str, Any]:
    return (await generate_title(services(), g.user.id, cid)).public()
