"""gzip for what a browser downloads: pages, scripts, stylesheets, SVG and JSON; never the SSE streams.

`scripts/run` serves users directly (no proxy in front), so the app compresses itself when the client accepts gzip.
Static files are compressed once per content version and kept (their URLs carry a content hash); pages are
compressed per response. Streams (text/event-stream), ranges, small bodies and already-encoded bodies are left as
they are. The base app (web.app) registers `bp` on both apps; each app keeps its own static-file cache.
"""

from __future__ import annotations

import gzip

from quart import Blueprint, Response, current_app, request

COMPRESSIBLE = frozenset(
    {"text/html", "text/css", "text/javascript", "application/javascript", "application/json", "image/svg+xml"}
)
MIN_BYTES = 1024  # below this, the gzip header costs more than it saves
LEVEL = 6
STATIC_CACHE = "compression.static"  # app.extensions key: (path, etag) -> gzip body of a static file
STATIC_CACHE_MAX = 256

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
    if (response.content_length or MIN_BYTES) < MIN_BYTES or not _wants_gzip(response):
        return response
    etag, weak = response.get_etag()
    static = request.path.startswith(("/static/", "/ui/")) and etag is not None
    cache: dict[tuple[str, str], bytes] = current_app.extensions.setdefault(STATIC_CACHE, {})
    body = cache.get((request.path, etag)) if static and etag else None
    if body is None:
        data = await response.get_data(as_text=False)
        if len(data) < MIN_BYTES:
            return response
        body = gzip.compress(data, compresslevel=LEVEL, mtime=0)
        if static and etag:
            if len(cache) >= STATIC_CACHE_MAX:
                cache.pop(next(iter(cache)))
            cache[(request.path, etag)] = body
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    if etag:
        response.set_etag(f"{etag}-gzip", weak=bool(weak))  # another representation, another validator
    return response
