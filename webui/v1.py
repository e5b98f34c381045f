"""The OpenAI-compatible API: `POST /v1/chat/completions` (stream and non-stream) and `GET /v1/models`.

Callers authenticate with a personal API key (`Authorization: Bearer sk-...`) or a web session, and are charged to
the same plan and quota as the web chat (a call asking for `n` answers is n messages). Errors use OpenAI's shape and
statuses, answers carry OpenAI's rate-limit headers (webui.v1_http). Streams forward the upstream's SSE bytes as
they arrive; nothing is re-serialised. The other /v1 endpoints: webui.v1_endpoints (embeddings, moderations),
webui.v1_responses (the Responses API); CORS: webui.v1_cors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quart import Blueprint, Response, g, request

from core import errors
from core.accounts.api_keys import remembered_api_key
from core.billing.subscriptions import current_plan
from core.chat.api_key_fast_path import relay_api_key_chat
from core.chat.events import ChatDelta, ChatError, ChatEvent, ChatStream
from core.chat.pipeline import relay_chat
from core.chat.request import ChatRequest
from core.relay.catalogue import list_models
from core.relay.upstream_sse import DONE
from web.context import services
from webui.auth import allow_api_keys, api_key_credential, remember_api_key_user
from webui.streaming import stream_response
from webui.v1_http import install_error_handlers, json_body, openai_error, rate_headers

bp = Blueprint("v1", __name__)
install_error_handlers(bp)


ChatReader = Callable[[dict[str, Any]], ChatRequest]
READ_CHAT = "chatgate.v1_chat"  # ASGI scope key: the call as the fast lane (webui.v1_lane) read it, when it declined


async def _chat_request() -> ChatRequest:
    """Return the call, read once per request: both paths (and the fast lane) share it, and so its token counts
    (counted once)."""
    if "v1_chat" not in g:
        reader: ChatReader = g.get("v1_reader") or ChatRequest.from_openai
        read = request.scope.get(READ_CHAT) if reader == ChatRequest.from_openai else None
        g.v1_chat = read if isinstance(read, ChatRequest) else reader(await json_body())
    chat: ChatRequest = g.v1_chat
    return chat


async def run_chat(reader: ChatReader) -> tuple[ChatRequest, ChatStream]:
    """Run a chat call whose body `reader` turns into a ChatRequest: the one-round-trip path for a remembered API
    key, else the ordinary one (/v1/chat/completions and /v1/responses alike)."""
    g.v1_reader = reader
    return await _fast_chat() or await _checked_chat()


async def _fast_chat() -> tuple[ChatRequest, ChatStream] | None:
    """An API-key call with one store round trip before the upstream (core.chat.api_key_fast_path), or None."""
    key, svc = api_key_credential(), services()
    if key is None or not remembered_api_key(svc.store, key):
        return None  # an unknown key is refused before its body is even read
    try:
        chat = await _chat_request()
    except errors.CoreError:
        return None  # answered by the ordinary path, after authentication
    done = await relay_api_key_chat(svc, key, chat)
    if done is None:
        return None
    _count_call()
    remember_api_key_user(done.user, done.caller)
    if done.error is not None:
        raise done.error
    assert done.stream is not None
    return chat, done.stream


@allow_api_keys
async def _checked_chat() -> tuple[ChatRequest, ChatStream]:
    """The ordinary path: authenticate (401; CSRF for cookie sessions), then check and charge the call."""
    chat = await _chat_request()
    _count_call()
    return chat, await relay_chat(services(), g.user, chat, plan=g.get("plan"))


def _count_call() -> None:
    """Count an authenticated chat call as the API channel's message in (once: on whichever path took it)."""
    services().metrics.inc("chatgate_channel_messages_total", channel="api", direction="in")


@bp.post("/v1/chat/completions")
async def chat_completions() -> Response:
    chat, stream = await _fast_chat() or await _checked_chat()
    if not chat.stream:
        return rate_headers(Response(await completion_body(stream), content_type="application/json"), stream.rate)
    return rate_headers(stream_response(stream, _raw, ends_answer), stream.rate)


async def completion_body(stream: ChatStream) -> bytes:
    """Return the upstream's JSON answer of a non-stream call."""
    body = b""
    try:
        async for event in stream:
            if isinstance(event, ChatDelta):
                body = event.raw
    finally:
        await stream.aclose()
    return body


def _raw(event: ChatEvent) -> bytes | None:
    """Return the upstream's SSE bytes of an event (and our error event if the answer is stopped)."""
    return event.raw if isinstance(event, ChatDelta | ChatError) else None


def ends_answer(data: bytes) -> bool:
    """The last piece of an OpenAI stream: it goes out once the answer is settled, with the end of the body."""
    return data.endswith(DONE)


@bp.get("/v1/models")
@allow_api_keys
async def models() -> dict[str, Any]:
    return {"object": "list", "data": await _usable_models()}


@bp.get("/v1/models/<path:model_id>")
@allow_api_keys
async def model(model_id: str) -> dict[str, Any]:
    for entry in await _usable_models():
        if entry["id"] == model_id:
            return entry
    raise errors.ModelNotFound(f"The model `{model_id}` does not exist.", model=model_id)


async def _usable_models() -> list[dict[str, Any]]:
    """The enabled models the caller's plan includes (chat, embeddings and moderation ones), in OpenAI's shape."""
    svc = services()
    plan = g.get("plan") or await current_plan(svc.store, g.user.id, svc.clock())
    return [
        {"id": m.id, "object": "model", "created": m.created, "owned_by": "chatgate"}
        for m in await list_models(svc.store)
        if m.enabled and m.id in plan.limits
    ]


@bp.route("/v1/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def unknown(rest: str) -> Response:
    return openai_error(404, f"Invalid URL ({request.method} /v1/{rest})", "unknown_url")
