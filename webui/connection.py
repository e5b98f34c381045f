"""The web app's ASGI HTTP connection: chat bodies always closed (webui.streaming), and /v1's own body limit.

Quart sizes a request's body limit when it makes the request, before any route runs, so the OpenAI-compatible API's
larger limit (V1_MAX_BODY_BYTES: images travel inline as base64 there) is chosen here, by path; the rest of the web
API keeps MAX_BODY_BYTES.
"""

from __future__ import annotations

from typing import Any

from quart.wrappers import Request

from webui.streaming import ClosingHTTPConnection

V1_LIMIT_CONFIG = "V1_MAX_CONTENT_LENGTH"


def is_v1_path(path: str) -> bool:
    """Tell whether a path belongs to the OpenAI-compatible API."""
    return path == "/v1" or path.startswith("/v1/")


class WebConnection(ClosingHTTPConnection):
    """Quart's HTTP connection with the chat-body closing of ClosingHTTPConnection and /v1's body limit."""

    def _create_request_from_scope(self, send: Any) -> Request:
        request = super()._create_request_from_scope(send)
        limit = self.app.config.get(V1_LIMIT_CONFIG)
        if limit is not None and is_v1_path(request.path):
            request.max_content_length = limit
            request.body = request.body_class(request.content_length, limit)  # nothing was read into it yet
        return request
