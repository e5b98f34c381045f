"""Read-only share links (core.chat.shares): `POST /api/conversations/<id>/share` -> `{"id", "url", "shared_at"}`,
`DELETE /api/conversations/<id>/share` -> `{"ok": true}`, and the public page `GET /s/<id>`.

The page shows the snapshot's title and messages and nothing about the account that shared it; it is kept out of
search engines (`X-Robots-Tag: noindex` and a robots meta tag) and answers 404 once the link is revoked.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, g

from core.chat.images import get_image
from core.chat.shares import get_shared, revoke_share, share_conversation
from core.errors import NotFound
from web.context import services
from web.requests import public_base_url
from webui.api_conversations import image_response
from webui.auth import current_user, require_user
from webui.chat_page import chat_config, chat_stylesheets
from webui.pages import page_theme, render_page

bp = Blueprint("shares", __name__)

ROBOTS = "noindex, nofollow, noarchive"
SHARE_SCRIPTS = (
    "vendor/marked/marked.min.js",
    "vendor/dompurify/purify.min.js",
    "vendor/highlight/highlight.min.js",
    "js/chat/state.js",
    "js/chat/rich.js",
    "js/chat/markdown.js",
    "js/share.js",
)


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


@bp.get("/s/<share_id>/images/<image_id>")
async def shared_image(share_id: str, image_id: str) -> Response:
    """A picture of a shared conversation (only those in the snapshot)."""
    shared = await get_shared(services().store, share_id)
    if not any(image_id in message.images for message in shared.messages):
        raise NotFound("Image not found.")
    response = image_response(await get_image(services().store, shared.owner, shared.conversation_id, image_id))
    response.headers["X-Robots-Tag"] = ROBOTS
    return response


@bp.get("/s/<share_id>")
async def shared_page(share_id: str) -> Response:
    """The public, read-only page of a share link (404 page when unknown or revoked)."""
    shared = await get_shared(services().store, share_id)
    response = await render_page(
        "share.html",
        shared=shared,
        messages=[message.public() for message in shared.messages],
        robots=ROBOTS,
        share_stylesheets=chat_stylesheets(await page_theme(await current_user())),
        share_scripts=SHARE_SCRIPTS,
        chat_config=chat_config(),
    )
    response.headers["X-Robots-Tag"] = ROBOTS
    return response
