"""gzip for what a browser downloads: pages, scripts, stylesheets, SVG and JSON; never the SSE streams.

`scripts/run` serves users directly (no proxy in front), so the app compresses itself when the client accepts gzip.
Static files are compressed once per content version and kept (their URLs carry a content hash); pages are
compressed per response. Streams (text/event-stream), ranges, small bodies and already-encoded bodies are left as
they are. Register `bp` on an app (BLUEPRINT_MODULES does it for the web app; the dashboard registers it too).
"""

from __future__ import annotations

import gzip

from quart import Blueprint, Response, request

COMPRESSIBLE = frozenset(
    {"text/html", "text/css", "text/javascript", "application/javascript", "application/json", "image/svg+xml"}
)
MIN_BYTES = 1024  # below this, the gzip header costs more than it saves
LEVEL = 6
_STATIC: dict[tuple[str, str], bytes] = {}  # (path, etag) -> gzip body of a static file
_STATIC_MAX = 256

bp = Blueprint("compression", __name__)


def _wants_gzip(response: Response) -> bool:
    return (
        response.status_code == 200
        and "Content-Encoding" not in response.headers
        and "Range" not in request.headers
        and request.accept_encodings["gzip"] > 0
    )


@bp.after_app_request
async def _compress(response: Response) -> Response:
    if response.mimetype not in COMPRESSIBLE:  # first: the /v1 and chat streams leave here at once
        return response
    response.vary.add("Accept-Encoding")  # a cache must not give a gzip body to a client that did not ask
    if not _wants_gzip(response):
        return response
    etag, weak = response.get_etag()
    static = request.path.startswith(("/static/", "/ui/")) and etag is not None
    body = _STATIC.get((request.path, etag)) if static and etag else None
    if body is None:
        data = await response.get_data(as_text=False)
        if len(data) < MIN_BYTES:
            return response
        body = gzip.compress(data, compresslevel=LEVEL, mtime=0)
        if static and etag:
            if len(_STATIC) >= _STATIC_MAX:
                _STATIC.pop(next(iter(_STATIC)))
            _STATIC[(request.path, etag)] = body
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    if etag:
        response.set_etag(f"{etag}-gzip", weak=bool(weak))  # another representation, another validator
    return response
