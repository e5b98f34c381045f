"""Security headers on every response of the web app and the dashboard.

The content-security policy allows scripts and styles only from our own origin: no inline `<script>`, no `on*=`
attributes, no `style=` attributes, no eval. Data for scripts travels in `<script type="application/json">` blocks
and `data-*` attributes instead. The base app (web.app) registers `bp` on both apps.
"""

from __future__ import annotations

from quart import Blueprint, Response, current_app

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

HSTS_VALUE = "max-age=31536000"

bp = Blueprint("security", __name__)


_HEADERS = [(name.lower(), name, value) for name, value in SECURITY_HEADERS.items()]
_HSTS = [("strict-transport-security", "Strict-Transport-Security", HSTS_VALUE)]


def apply_security_headers(response: Response, https: bool) -> Response:
    """Add the security headers a handler has not set itself; HSTS only when the site is served over https."""
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}  # one pass (a miss in `Headers` raises inside)
    for lower, name, value in _HEADERS + _HSTS if https else _HEADERS:
        if lower not in present:
            headers.add(name, value)
    return response


@bp.after_app_request
async def _add_security_headers(response: Response) -> Response:
    services = current_app.extensions.get("services")
    https = bool(services and services.settings.DOMAIN.startswith("https://"))
    return apply_security_headers(response, https)
