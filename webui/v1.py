"""The OpenAI-compatible API: `POST /v1/chat/completions` (stream and non-stream) and `GET /v1/models`.

Callers authenticate with a personal API key (`Authorization: Bearer sk-...`) or a web session, and are charged to
the same plan and quota as the web chat. Errors use OpenAI's shape `{"error":{"message","type","param","code"}}`
and statuses. Streams forward the upstream's SSE bytes as they arrive; nothing is re-serialised.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from quart import Blueprint, Response, g, request
from werkzeug.exceptions import HTTPException, RequestTimeout

from core import errors
from core.accounts.api_keys import remembered_api_key
from core.billing.subscriptions import current_plan
from core.chat.api_key_fast_path import relay_api_key_chat
from core.chat.events import ChatDelta, ChatError, ChatEvent, ChatStream
from core.chat.pipeline import relay_chat
from core.chat.request import ChatRequest
from core.relay.catalogue import list_models
from web.context import services
from web.errors import STORE_ERRORS, status_for, store_unavailable
from web.validation import require_json
from webui.auth import allow_api_keys, api_key_credential, remember_api_key_user
from webui.streaming import stream_response

log = logging.getLogger(__name__)
bp = Blueprint("v1", __name__)

OPENAI_TYPES = {
    errors.QuotaExceeded.code: "requests",
    errors.LimitReached.code: "tokens",
    errors.DailyTokensExceeded.code: "tokens",
    errors.TooManyStreams.code: "requests",
    errors.UpstreamUnavailable.code: "server_error",
    errors.UpstreamError.code: "server_error",
    errors.StoreUnavailable.code: "server_error",
    errors.CoreError.code: "server_error",
    errors.NotAuthenticated.code: "invalid_request_error",
}
OPENAI_PARAMS = {
    errors.ModelNotFound.code: "model",
    errors.ModelNotInPlan.code: "model",
    errors.ContentBlocked.code: "messages",
    errors.ContextTooLong.code: "messages",
}
HTTP_CODES = {401: "invalid_api_key", 404: "unknown_url", 405: "method_not_allowed", 413: "payload_too_large"}


def openai_error(status: int, message: str, code: str, kind: str | None = None, param: str | None = None) -> Response:
    """Return an error response in OpenAI's shape."""
    kind = kind or ("server_error" if status >= 500 else "invalid_request_error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return Response(orjson.dumps(body), status=status, content_type="application/json")


def _core_error_response(error: errors.CoreError) -> Response:
    status, code, message = status_for(error), error.code, error.message
    upstream_status = error.data.get("upstream_status")
    kind = OPENAI_TYPES.get(code)
    if isinstance(error, errors.UpstreamError) and isinstance(upstream_status, int) and 400 <= upstream_status < 500:
        status = 400 if upstream_status in (401, 403) else upstream_status  # the client's request was refused
        if upstream_status not in (401, 403):  # typed as OpenAI types a refused request, with its code if it gave one
            kind, code = "invalid_request_error", str(error.data.get("upstream_code") or code)
    if isinstance(error, errors.NotAuthenticated):
        code, message = "invalid_api_key", "Incorrect or missing API key; pass `Authorization: Bearer sk-...`."
    if isinstance(error, errors.DailyTokensExceeded):
        code = errors.QuotaExceeded.code  # OpenAI clients expect a 429 rate_limit_exceeded for any plan limit
    retry_after = error.data.get("retry_after")
    seconds = max(1, int(retry_after)) if retry_after is not None else None
    if seconds is not None:
        message = f"{message} Try again in {seconds}s."
    param = OPENAI_PARAMS.get(code) or error.data.get("field")
    response = openai_error(status, message, code, kind, param)
    if seconds is not None:
        response.headers["Retry-After"] = str(seconds)
    return response


@bp.errorhandler(errors.CoreError)
async def _core_error(error: errors.CoreError) -> Response:
    return _core_error_response(error)


@bp.errorhandler(HTTPException)
async def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    return openai_error(status, error.description or error.name, HTTP_CODES.get(status, "http_error"))


async def _store_away(error: Exception) -> Response:
    return _core_error_response(store_unavailable(error))


for _kind in STORE_ERRORS:
    bp.register_error_handler(_kind, _store_away)


@bp.errorhandler(Exception)
async def _unexpected(error: Exception) -> Response:
    log.exception("unhandled error in /v1")
    return openai_error(500, "The server had an error while processing your request.", "internal_error")


async def _read_json() -> dict[str, Any]:
    """Read the request body as a JSON object; 413 over MAX_BODY_BYTES, 400 when it is not JSON."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise errors.PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    require_json()
    try:
        # `request.get_data` would wrap this in `asyncio.wait_for`, a task per request on Python 3.11.
        async with asyncio.timeout(request.body_timeout):
            raw = await request.body
    except TimeoutError:
        raise RequestTimeout() from None
    request.body.clear()
    try:
        data = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        raise errors.InvalidInput("We could not parse the JSON body of your request.", field="body") from None
    if not isinstance(data, dict):
        raise errors.InvalidInput("The request body must be a JSON object.", field="body")
    return data


async def _json_body() -> dict[str, Any]:
    """Return the body as a JSON object, read once per request (its error, if any, is raised every time)."""
    if "v1_body" not in g:
        try:
            g.v1_body = await _read_json()
        except errors.CoreError as error:
            g.v1_body = error
    if isinstance(g.v1_body, errors.CoreError):
        raise g.v1_body
    body: dict[str, Any] = g.v1_body
    return body


async def _chat_request() -> ChatRequest:
    """Return the call, read once per request: both paths share it, and so its token counts (counted once)."""
    if "v1_chat" not in g:
        g.v1_chat = ChatRequest.from_openai(await _json_body())
    chat: ChatRequest = g.v1_chat
    return chat


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
    remember_api_key_user(done.user, done.caller)
    if done.error is not None:
        raise done.error
    assert done.stream is not None
    return chat, done.stream


@allow_api_keys
async def _checked_chat() -> tuple[ChatRequest, ChatStream]:
    """The ordinary path: authenticate (401; CSRF for cookie sessions), then check and charge the call."""
    chat = await _chat_request()
    return chat, await relay_chat(services(), g.user, chat, plan=g.get("plan"))


@bp.post("/v1/chat/completions")
async def chat_completions() -> Response:
    chat, stream = await _fast_chat() or await _checked_chat()
    if not chat.stream:
        return Response(await _completion_body(stream), content_type="application/json")
    return stream_response(stream, _raw)


async def _completion_body(stream: ChatStream) -> bytes:
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
    """The enabled models the caller's plan includes, in OpenAI's model shape."""
    svc = services()
    plan = g.get("plan") or await current_plan(svc.store, g.user.id, svc.clock())
    return [
        {"id": m.id, "object": "model", "created": 0, "owned_by": "chatgate"}
        for m in await list_models(svc.store)
        if m.enabled and m.id in plan.limits
    ]


@bp.route("/v1/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def unknown(rest: str) -> Response:
    return openai_error(404, f"Invalid URL ({request.method} /v1/{rest})", "unknown_url")
