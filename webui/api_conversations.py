"""The signed-in user's conversations: list and search (titles and message text), create, read, change (title,
model, per-chat settings), flip an edited message's versions, delete, export as Markdown or JSON."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import orjson
from quart import Blueprint, Response, g, request

from core.chat.branches import switch_version, versions_of
from core.chat.chat_settings import ChatSettings, settings_from_dict
from core.chat.conversations import (
    MODEL_MAX_CHARS,
    create_conversation,
    delete_conversation,
    get_conversation,
    list_conversations,
    update_conversation,
)
from core.chat.images import Image, get_image
from core.chat.messages import Message, export_markdown, get_messages
from core.chat.search import search_conversations
from core.errors import InvalidInput, ModelNotFound
from core.relay.catalogue import cached_model, list_models
from web.context import services
from web.validation import Body, parse_body
from webui.auth import require_user

bp = Blueprint("api_conversations", __name__)

LIST_MAX = 500
QUERY_MAX_CHARS = 100


class NewConversation(Body):
    model: str | None = None
    title: str | None = None
    settings: dict[str, Any] | None = None


class ChangeConversation(Body):
    title: str | None = None
    model: str | None = None
    settings: dict[str, Any] | None = None


class SwitchVersion(Body):
    group: str
    index: int


def _list_limit() -> int:
    raw = request.args.get("limit", "100")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= LIST_MAX:
        raise InvalidInput(f"limit must be a whole number from 1 to {LIST_MAX}.", field="limit")
    return int(raw)


async def _default_model() -> str:
    """Return the first enabled model of the runtime config, else the first configured one."""
    svc = services()
    enabled = [model.id for model in await list_models(svc.store) if model.enabled and model.chats]
    return next(iter(enabled or svc.settings.OPENAI_MODELS), "")


async def check_model(model: str) -> None:
    """Refuse a model that is not an enabled model of the catalogue (a longer name is refused as too long)."""
    if len(model) <= MODEL_MAX_CHARS:
        known = await cached_model(services().store, model)
        if known is None or not known.enabled or not known.chats:
            raise ModelNotFound(f"The model `{model}` does not exist.", model=model)


def chat_settings(raw: dict[str, Any] | None) -> ChatSettings | None:
    """Read the `settings` object of a request body (None when absent)."""
    if raw is None:
        return None
    return settings_from_dict(raw, system_max_chars=services().settings.MESSAGE_MAX_CHARS)


async def thread(user_id: int, cid: str, messages: list[Message]) -> list[dict[str, Any]]:
    """The public messages, each edited one with where its versions stand (`versions: {index, count}`)."""
    versions = await versions_of(services().store, user_id, cid, messages)
    shown = [message.public() for message in messages]
    for data, message in zip(shown, messages, strict=True):
        if message.group in versions:
            data["versions"] = versions[message.group].public()
    return shown


@bp.get("/api/conversations")
@require_user
async def list_all() -> dict[str, Any]:
    store, query = services().store, " ".join(request.args.get("q", "").split())[:QUERY_MAX_CHARS]
    if query:
        found = await search_conversations(store, g.user.id, query, _list_limit())
        return {"conversations": [item.public() for item in found]}
    conversations = await list_conversations(store, g.user.id, None, _list_limit())
    return {"conversations": [conversation.public() for conversation in conversations]}


@bp.post("/api/conversations")
@require_user
async def create() -> tuple[dict[str, Any], int]:
    body = await parse_body(NewConversation)
    svc = services()
    model = body.model or await _default_model()
    if body.model is not None:
        await check_model(body.model)
    conversation = await create_conversation(
        svc.store, g.user.id, model=model, channel="web", title=body.title, now=svc.clock(), settings=svc.settings,
        chat_settings=chat_settings(body.settings) or ChatSettings(),
    )  # fmt: skip
    return conversation.public(), 201


@bp.get("/api/conversations/<cid>")
@require_user
async def read(cid: str) -> dict[str, Any]:
    store = services().store
    conversation = await get_conversation(store, g.user.id, cid)
    messages = await get_messages(store, g.user.id, cid)
    return {"conversation": conversation.public(), "messages": await thread(g.user.id, cid, messages)}


@bp.patch("/api/conversations/<cid>")
@require_user
async def change(cid: str) -> dict[str, Any]:
    body = await parse_body(ChangeConversation)
    if body.title is None and body.model is None and body.settings is None:
        raise InvalidInput("Send a title, a model or settings to change.", field="title")
    if body.model is not None:
        await check_model(body.model)
    changed = await update_conversation(
        services().store, g.user.id, cid, title=body.title, model=body.model, chat_settings=chat_settings(body.settings)
    )
    return changed.public()


@bp.post("/api/conversations/<cid>/versions")
@require_user
async def switch(cid: str) -> dict[str, Any]:
    body = await parse_body(SwitchVersion)
    svc = services()
    messages = await switch_version(svc.store, g.user.id, cid, body.group[:64], body.index, now=svc.clock())
    return {"messages": await thread(g.user.id, cid, messages)}


@bp.get("/api/conversations/<cid>/images/<image_id>")
@require_user
async def image(cid: str, image_id: str) -> Response:
    """One picture sent in the conversation (its owner only)."""
    found = await get_image(services().store, g.user.id, cid, image_id)
    return image_response(found)


def image_response(found: Image) -> Response:
    response = Response(found.data, content_type=found.mime)
    response.headers["Cache-Control"] = "private, max-age=86400"  # an image id never changes its bytes
    response.headers["Content-Disposition"] = "inline"
    return response


@bp.delete("/api/conversations/<cid>")
@require_user
async def delete(cid: str) -> dict[str, Any]:
    await delete_conversation(services().store, g.user.id, cid)
    return {"ok": True}


def _content_disposition(title: str, cid: str, extension: str) -> str:
    # An ASCII fallback for old clients, the real (often Chinese) title per RFC 6266 / RFC 5987.
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", title).strip("-")[:60] or f"conversation-{cid}"
    full_name = (title.strip() or f"conversation-{cid}")[:100]
    name = quote(f"{full_name}.{extension}", safe="")
    return f"attachment; filename=\"{ascii_name}.{extension}\"; filename*=UTF-8''{name}"


@bp.get("/api/conversations/<cid>/export")
@require_user
async def export(cid: str) -> Response:
    """The conversation as Markdown (default) or, with `?format=json`, as JSON with every message's details."""
    store = services().store
    conversation = await get_conversation(store, g.user.id, cid)
    messages = await get_messages(store, g.user.id, cid)
    kind = request.args.get("format", "markdown")
    if kind == "json":
        data = {"conversation": conversation.public(), "messages": [message.public() for message in messages]}
        body, content_type, extension = orjson.dumps(data, option=orjson.OPT_INDENT_2), "application/json", "json"
    elif kind in ("markdown", "md"):
        body, content_type, extension = export_markdown(conversation, messages).encode(), "text/markdown", "md"
    else:
        raise InvalidInput("format must be markdown or json.", field="format")
    response = Response(body, content_type=f"{content_type}; charset=utf-8")
    response.headers["Content-Disposition"] = _content_disposition(conversation.title, cid, extension)
    return response
