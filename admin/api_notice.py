"""Announcement API (issue 11, item 6): read, publish (a new version: web users see it once), withdraw."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StringConstraints
from quart import Blueprint

from admin.auth import actor, require_admin
from core.site.notice import MARKDOWN_MAX_CHARS, get_notice, publish_notice, withdraw_notice
from web.context import services
from web.validation import Body, parse_body

bp = Blueprint("admin_notice", __name__)


class NoticeBody(Body):
    markdown: Annotated[str, StringConstraints(max_length=MARKDOWN_MAX_CHARS + 1000)]


@bp.get("/api/notice")
@require_admin
async def notice() -> dict[str, Any]:
    current = await get_notice(services().store)
    return {"notice": current.public() if current else None}


@bp.put("/api/notice")
@require_admin
async def publish() -> dict[str, Any]:
    body = await parse_body(NoticeBody)
    svc = services()
    return {"notice": (await publish_notice(svc.store, actor(), body.markdown, svc.clock())).public()}


@bp.delete("/api/notice")
@require_admin
async def withdraw() -> dict[str, Any]:
    svc = services()
    await withdraw_notice(svc.store, actor(), svc.clock())
    return {"notice": None}
