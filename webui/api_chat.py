"""The web chat's stream: `POST /api/chat` -> `text/event-stream` of `data: {json}` events (docs/API.md).

Events: start (conversation_id, message_id, user_message_id, title), delta (content), done (usage), error (code,
message, data). Errors before the answer starts are plain JSON errors with their HTTP status. A client that stops
reading (the Stop button, a closed tab) cancels the upstream request; what was delivered is kept.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from quart import Blueprint, Response, g

from core.chat.events import ChatDelta, ChatDone, ChatError, ChatEvent, ChatStart
from core.chat.images import parse_images
from core.chat.pipeline import relay_chat
from core.chat.request import ChatRequest
from core.chat.turns import ChatTurn
from web.context import services
from web.validation import Body, parse_body
from webui.api_conversations import chat_settings
from webui.auth import require_user
from webui.streaming import stream_response

bp = Blueprint("api_chat", __name__)


class ChatBody(Body):
    conversation_id: str | None = None
    model: str
    content: str | None = None
    action: Literal["send", "regenerate", "edit"] = "send"
    system: str | None = None
    message_id: str | None = None  # edit: the user message to replace (default: the last one)
    settings: dict[str, Any] | None = None  # the chat's settings (saved with the turn)
    images: list[str] | None = None  # data:image/...;base64 URLs (models that take images)


@bp.post("/api/chat")
@require_user
async def chat() -> Response:
    body = await parse_body(ChatBody)
    services().metrics.inc("chatgate_channel_messages_total", channel="web", direction="in")
    turn = ChatTurn(
        content=body.content, action=body.action, conversation_id=body.conversation_id or None, system=body.system,
        message_id=body.message_id or None, settings=chat_settings(body.settings),
        images=tuple(parse_images(body.images or [])),
    )  # fmt: skip
    stream = await relay_chat(services(), g.user, ChatRequest(model=body.model, turn=turn, stream=True))
    return stream_response(stream, _sse)


def _sse(event: ChatEvent) -> bytes | None:
    payload = event_payload(event)
    return None if payload is None else b"data: " + orjson.dumps(payload) + b"\n\n"


def event_payload(event: ChatEvent) -> dict[str, Any] | None:
    """Return the JSON of one web chat event (None for pieces without new text)."""
    if isinstance(event, ChatDelta):
        return {"type": "delta", "content": event.content} if event.content else None
    if isinstance(event, ChatStart):
        return {
            "type": "start",
            "conversation_id": event.conversation_id,
            "message_id": event.message_id,
            "user_message_id": event.user_message_id,
            "title": event.title,
        }
    if isinstance(event, ChatDone):
        usage = {"prompt_tokens": event.usage.prompt_tokens, "completion_tokens": event.usage.completion_tokens}
        return {"type": "done", "usage": usage}
    if isinstance(event, ChatError):
        error = event.error
        return {"type": "error", **error.data, "code": error.code, "message": error.message}
    return None
