"""The signed-in user's conversations: list and search, create, read, rename, delete, export as Markdown."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from quart import Blueprint, Response, g, request

from core.chat.conversations import (
    MODEL_MAX_CHARS,
    create_conversation,
    delete_conversation,
    get_conversation,
    list_conversations,
    rename_conversation,
)
from core.chat.messages import export_markdown, get_messages
from core.errors import InvalidInput, ModelNotFound
from core.relay.catalogue import cached_model, list_models
from web.context import services
from web.validation import Body, parse_body
from webui.auth import require_user

bp = Blueprint("api_conversations", __name__)

LIST_MAX = 500


class NewConversation(Body):
    model: str | None = None
    title: str | None = None


class RenameConversation(Body):
    title: str


def _list_limit() -> int:
    raw = request.args.get("limit", "100")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= LIST_MAX:
        raise InvalidInput(f"limit must be a whole number from 1 to {LIST_MAX}.", field="limit")
    return int(raw)


async def _default_model() -> str:
    """Return the first enabled model of the runtime config, else the first configured one."""
    svc = services()
    enabled = [model.id for model in await list_models(svc.store) if model.enabled]
    return next(iter(enabled or svc.settings.OPENAI_MODELS), "")


@bp.get("/api/conversations")
@require_user
async def list_all() -> dict[str, Any]:
    found = await list_conversations(services().store, g.user.id, request.args.get("q"), _list_limit())
    return {"conversations": [conversation.public() for conversation in found]}


@bp.post("/api/conversations")
@require_user
async def create() -> tuple[dict[str, Any], int]:
    body = await parse_body(NewConversation)
    svc = services()
    model = body.model or await _default_model()
    if body.model is not None and len(body.model) <= MODEL_MAX_CHARS:  # (a longer name is refused as too long)
        known = await cached_model(svc.store, body.model)
        if known is None or not known.enabled:
            raise ModelNotFound(f"The model `{body.model}` does not exist.", model=body.model)
    conversation = await create_conversation(
        svc.store, g.user.id, model=model, channel="web", title=body.title, now=svc.clock(), settings=svc.settings
    )
    return conversation.public(), 201


@bp.get("/api/conversations/<cid>")
@require_user
async def read(cid: str) -> dict[str, Any]:
    store = services().store
    conversation = await get_conversation(store, g.user.id, cid)
    messages = await get_messages(store, g.user.id, cid)
    return {"conversation": conversation.public(), "messages": [message.public() for message in messages]}


@bp.patch("/api/conversations/<cid>")
@require_user
async def rename(cid: str) -> dict[str, Any]:
    body = await parse_body(RenameConversation)
    return (await rename_conversation(services().store, g.user.id, cid, body.title)).public()


@bp.delete("/api/conversations/<cid>")
@require_user
async def delete(cid: str) -> dict[str, Any]:
    await delete_conversation(services().store, g.user.id, cid)
    return {"ok": True}


def _content_disposition(title: str, cid: str) -> str:
    # An ASCII fallback for old clients, the real (often Chinese) title per RFC 6266 / RFC 5987.
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", title).strip("-")[:60] or f"conversation-{cid}"
    full_name = (title.strip() or f"conversation-{cid}")[:100]
    return f"attachment; filename=\"{ascii_name}.md\"; filename*=UTF-8''{quote(full_name + '.md', safe='')}"


@bp.get("/api/conversations/<cid>/export")
@require_user
async def export(cid: str) -> Response:
    store = services().store
    conversation = await get_conversation(store, g.user.id, cid)
    text = export_markdown(conversation, await get_messages(store, g.user.id, cid))
    response = Response(text, content_type="text/markdown; charset=utf-8")
    response.headers["Content-Disposition"] = _content_disposition(conversation.title, cid)
    return response
