"""CORS on the OpenAI-compatible API only, for browser front-ends that call /v1 from their own origin (NextChat,
LobeChat, TypingMind).

V1_CORS_ORIGINS is a comma list of origins, or `*` for any; empty (the default) answers no preflight and adds no
header. Preflights (`OPTIONS` with `Access-Control-Request-Method`) on /v1 from an allowed origin get 204 with the
methods and the headers asked for; answers to that origin carry `Access-Control-Allow-Origin` and expose the headers
OpenAI clients read (request id, rate limits, retry). Credentials are never allowed: a browser's cookies do not
travel cross-origin with a readable answer, and the cookie-authenticated web API (/api) never gets CORS headers.
"""

from __future__ import annotations

from quart import Blueprint, Response, request
from werkzeug.wrappers import Response as WerkzeugResponse

from web.context import services
from webui.connection import is_v1_path

bp = Blueprint("v1_cors", __name__)

ALLOW_METHODS = "GET, POST, OPTIONS"
DEFAULT_ALLOW_HEADERS = "Authorization, Content-Type, OpenAI-Organization, OpenAI-Project, X-Request-Id"
EXPOSE_HEADERS = ", ".join(
    [
        "x-request-id", "retry-after", "retry-after-ms", "x-should-retry",
        "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
        "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
    ]
)  # fmt: skip
MAX_AGE_SECONDS = "7200"


def allowed_origin(origin: str | None) -> str | None:
    """Return the value of `Access-Control-Allow-Origin` for a /v1 request from `origin`, or None (no CORS)."""
    if not origin:
        return None
    allowed = services().settings.V1_CORS_ORIGINS
    if "*" in allowed:
        return "*"
    wanted = origin.rstrip("/").lower()
    return origin if any(entry.rstrip("/").lower() == wanted for entry in allowed) else None


@bp.before_app_request
async def _preflight() -> Response | None:
    if request.method != "OPTIONS" or not is_v1_path(request.path):
        return None
    if not request.headers.get("Access-Control-Request-Method"):
        return None
    origin = allowed_origin(request.headers.get("Origin"))
    if origin is None:
        return None  # Quart's own OPTIONS answer, without CORS headers: the browser refuses the call
    response = Response(b"", status=204)
    response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
    asked = request.headers.get("Access-Control-Request-Headers", "")
    response.headers["Access-Control-Allow-Headers"] = asked or DEFAULT_ALLOW_HEADERS  # the SDKs send x-stainless-*
    response.headers["Access-Control-Max-Age"] = MAX_AGE_SECONDS
    return response


@bp.after_app_request
async def _cors_headers(response: Response | WerkzeugResponse) -> Response | WerkzeugResponse:
    if not is_v1_path(request.path):
        return response
    origin = allowed_origin(request.headers.get("Origin"))
    if origin is None:
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    if origin != "*":
        response.headers.add("Vary", "Origin")
    return response
