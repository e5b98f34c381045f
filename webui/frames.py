"""The sandboxed frame ```mermaid diagrams render in: `GET /frames/mermaid` (static/js/frames/mermaid.js).

The chat embeds it as `<iframe sandbox="allow-scripts">`: without allow-same-origin the frame has no origin, so the
diagram (model output) can reach neither the page nor the session. Its own policy lets Mermaid's inline SVG styles
apply (they cannot run anything) and lets only this site frame it; scripts still come from this site only.
"""

from __future__ import annotations

from quart import Blueprint, Response, render_template

bp = Blueprint("frames", __name__)

FRAME_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
    ]
)


@bp.get("/frames/mermaid")
async def mermaid_frame() -> Response:
    response = Response(await render_template("mermaid_frame.html"), content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = FRAME_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
