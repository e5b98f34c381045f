"""The request id and the HTTP metrics of both apps.

The id is taken from the caller's `X-Request-Id` (when it is a sane token) or made here, set for the whole request
(core.logs.request_id: every log line of it, and the relay's call upstream), and answered in `x-request-id` on every
response, errors included. Each answered request is counted by app, route (the URL rule, never the raw path), method
and status, with its time to the first byte (core.metrics); every label has a bounded set of values.
"""

from __future__ import annotations

import time

from quart import Blueprint, Response, current_app, g, request

from core.logs import new_request_id, request_id
from core.metrics import Metrics
from web.context import services

HEADER = "X-Request-Id"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

bp = Blueprint("tracing", __name__)


@bp.before_app_request
async def _take_request_id() -> None:
    g.request_id = new_request_id(request.headers.get(HEADER))
    g.started = time.monotonic()
    request_id.set(g.request_id)


@bp.after_app_request
async def _answer_request_id(response: Response) -> Response:
    response.headers[HEADER.lower()] = g.get("request_id") or new_request_id()
    rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
    method = request.method if request.method in METHODS else "other"  # a made-up method is no new series
    count_request(services().metrics, current_app.name, rule, method, response.status_code, g.get("started"))
    return response


def count_request(metrics: Metrics, app: str, route: str, method: str, status: int, started: float | None) -> None:
    """Count an answered request and, when its start is known, its time to the response's start."""
    labels = {"app": app, "route": route, "method": method}
    metrics.inc("chatgate_http_requests_total", status=status, **labels)
    if started is not None:
        metrics.observe("chatgate_http_request_duration_seconds", time.monotonic() - started, **labels)
