"""Read-only share links (core.chat.shares): `POST /api/conversations/<id>/share` -> `{"id", "url", "shared_at"}`,
`DELETE /api/conversations/<id>/share` -> `{"ok": true}`, and the public page `GET /s/<id>`.

The page shows the snapshot's title and messages and nothing about the account that shared it; it is kept out of
search engines (`X-Robots-Tag: noindex` and a robots meta tag) and answers 404 once the link is revoked.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, g

from core.chat.shares import get_shared, revoke_share, share_conversation
from web.context import services
from web.requests import public_base_url
from webui.auth import require_user
from webui.pages import render_page

bp = Blueprint("shares", __name__)

ROBOTS = "noindex, nofollow, noarchive"


def share_url(share_id: str) -> str:
    return f"{public_base_url()}/s/{share_id}"


@bp.post("/api/conversations/<cid>/share")
@require_user
async def share(cid: str) -> dict[str, Any]:
    svc = services()
    shared = await share_conversation(svc.store, g.user.id, cid, svc.clock())
    return {"id": shared.id, "url": share_url(shared.id), "shared_at": shared.shared_at}


@bp.delete("/api/conversations/<cid>/share")
@require_user
async def unshare(cid: str) -> dict[str, Any]:
    return {"ok": await revoke_share(services().store, g.user.id, cid)}


@bp.get("/s/<share_id>")
async def shared_page(share_id: str) -> Response:
    """The public, read-only page of a share link (404 page when unknown or revoked)."""
    shared = await get_shared(services().store, share_id)
    response = await render_page(
        "share.html",
        shared=shared,
        messages=[message.public() for message in shared.messages],
        robots=ROBOTS,
    )
    response.headers["X-Robots-Tag"] = ROBOTS
    return response
