"""The HTTP side every /v1 endpoint shares: OpenAI's error shape and statuses, the rate-limit headers OpenAI clients
read, and reading the JSON body (once per request, under V1_MAX_BODY_BYTES).

Errors: `{"error":{"message","type","param","code"}}`. A model the plan does not include is what OpenAI answers for a
model the key cannot use: 404 `model_not_found` (the message says the plan does not include it). Limits: a 429 has
`Retry-After` (seconds) and `retry-after-ms`, and `x-should-retry: false` when the wait is longer than a minute
(OpenAI's SDKs otherwise retry at once, pointlessly). Answers carry `x-ratelimit-limit-requests`,
`x-ratelimit-remaining-requests`, `x-ratelimit-reset-requests` for the model's window (messages) and the `-tokens`
ones where the plan caps daily tokens; the reset is the time until the next message (or the day's tokens) comes
back, written as OpenAI writes durations ("1s", "6m0s", "20ms").
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from quart import Blueprint, Response, g, request
from werkzeug.exceptions import HTTPException, RequestTimeout

from core import errors
from core.billing.quotas import RateState
from core.store.connection import STORE_ERRORS
from web.errors import status_for, store_unavailable
from web.validation import require_json

log = logging.getLogger(__name__)

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
NO_RETRY_AFTER_SECONDS = 60  # a longer wait: `x-should-retry: false`


def openai_error(status: int, message: str, code: str, kind: str | None = None, param: str | None = None) -> Response:
    """Return an error response in OpenAI's shape."""
    kind = kind or ("server_error" if status >= 500 else "invalid_request_error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return Response(orjson.dumps(body), status=status, content_type="application/json")


def core_error_response(error: errors.CoreError, where: str = "") -> Response:
    """Render a core error as OpenAI does, with its retry and rate-limit headers (`where`: the method and path to
    log, when outside a Quart request)."""
    status, code, message = status_for(error), error.code, error.message
    upstream_status = error.data.get("upstream_status")
    kind = OPENAI_TYPES.get(code)
    if isinstance(error, errors.UpstreamError) and isinstance(upstream_status, int) and 400 <= upstream_status < 500:
        status = 400 if upstream_status in (401, 403) else upstream_status  # the client's request was refused
        if upstream_status not in (401, 403):  # typed as OpenAI types a refused request, with its code if it gave one
            kind, code = "invalid_request_error", str(error.data.get("upstream_code") or code)
    if isinstance(error, errors.ModelNotInPlan):
        status, code = 404, errors.ModelNotFound.code  # OpenAI's answer for a model the key cannot use
    if isinstance(error, errors.NotAuthenticated):
        code, message = "invalid_api_key", "Incorrect or missing API key; pass `Authorization: Bearer sk-...`."
    if isinstance(error, errors.DailyTokensExceeded):
        code = errors.QuotaExceeded.code  # OpenAI clients expect a 429 rate_limit_exceeded for any plan limit
    wait = _wait_seconds(error)
    if wait is not None:
        message = f"{message} Try again in {max(1, round(wait))}s."
    param = OPENAI_PARAMS.get(error.code) or error.data.get("field")
    response = openai_error(status, message, code, kind, param)
    if wait is not None:
        retry_headers(response, wait, status)
    refused_rate_headers(response, error)
    log.info("%s refused: %s %s", where or f"{request.method} {request.path}", status, code)  # with the request id
    return response


def _wait_seconds(error: errors.CoreError) -> float | None:
    """The wait an error asks for (ms precision when it knows it), or None."""
    if (ms := error.data.get("retry_after_ms")) is not None:
        return float(ms) / 1000
    retry_after = error.data.get("retry_after")
    return float(max(1, int(retry_after))) if retry_after is not None else None


def retry_headers(response: Response, wait: float, status: int) -> None:
    """`Retry-After` (whole seconds), `retry-after-ms`, and `x-should-retry: false` on a 429 longer than a minute."""
    response.headers["Retry-After"] = str(max(1, int(-(-wait // 1))))
    response.headers["retry-after-ms"] = str(max(1, round(wait * 1000)))
    if status == 429 and wait > NO_RETRY_AFTER_SECONDS:
        response.headers["x-should-retry"] = "false"


def refused_rate_headers(response: Response, error: errors.CoreError) -> None:
    """The `x-ratelimit-*` headers of a call refused by the window or the daily token cap."""
    data, headers = error.data, response.headers
    if isinstance(error, errors.QuotaExceeded) and isinstance(data.get("limit"), int):
        headers["x-ratelimit-limit-requests"] = str(data["limit"])
        headers["x-ratelimit-remaining-requests"] = "0"
        headers["x-ratelimit-reset-requests"] = duration(_wait_seconds(error) or 0)
    if isinstance(error, errors.DailyTokensExceeded) and isinstance(data.get("daily_tokens"), int):
        headers["x-ratelimit-limit-tokens"] = str(data["daily_tokens"])
        headers["x-ratelimit-remaining-tokens"] = str(max(0, data["daily_tokens"] - int(data.get("used") or 0)))
        headers["x-ratelimit-reset-tokens"] = duration(float(data.get("retry_after") or 0))


def rate_headers(response: Response, rate: RateState | None) -> Response:
    """Add the `x-ratelimit-*` headers of an answered call (the state its consume step returned)."""
    if rate is not None:
        response.headers.update(rate_header_values(rate))
    return response


def rate_header_values(rate: RateState) -> dict[str, str]:
    """The `x-ratelimit-*` headers of an answered call, by name."""
    headers = {
        "x-ratelimit-limit-requests": str(rate.limit),
        "x-ratelimit-remaining-requests": str(rate.remaining),
        "x-ratelimit-reset-requests": duration(rate.reset_seconds),
    }
    if rate.daily_tokens:
        headers["x-ratelimit-limit-tokens"] = str(rate.daily_tokens)
        headers["x-ratelimit-remaining-tokens"] = str(max(0, rate.daily_tokens - rate.tokens_used))
        headers["x-ratelimit-reset-tokens"] = duration(rate.tokens_reset_seconds)
    return headers


def duration(seconds: float) -> str:
    """Write a duration as OpenAI's headers do (Go's form): "20ms", "1s", "1.5s", "6m0s", "3h0m0s"."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    whole_minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(whole_minutes), 60)
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    return f"{minutes}m{text}" if minutes else text


def install_error_handlers(bp: Blueprint) -> None:
    """Answer every error of a /v1 blueprint in OpenAI's shape."""

    @bp.errorhandler(errors.CoreError)
    async def _core_error(error: errors.CoreError) -> Response:
        return core_error_response(error)

    @bp.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        return openai_error(status, error.description or error.name, HTTP_CODES.get(status, "http_error"))

    async def _store_away(error: Exception) -> Response:
        return core_error_response(store_unavailable(error))

    for kind in STORE_ERRORS:
        bp.register_error_handler(kind, _store_away)

    @bp.errorhandler(Exception)
    async def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error in /v1")
        return openai_error(500, "The server had an error while processing your request.", "internal_error")


async def _read_json() -> dict[str, Any]:
    """Read the request body as a JSON object; 413 over V1_MAX_BODY_BYTES, 400 when it is not JSON."""
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


async def json_body() -> dict[str, Any]:
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
