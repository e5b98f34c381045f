"""Security headers on every response of the web app and the dashboard.

The content-security policy allows scripts and styles only from our own origin: no inline `<script>`, no `on*=`
attributes, no `style=` attributes, no eval. Data for scripts travels in `<script type="application/json">` blocks
and `data-*` attributes instead. The base app (web.app) registers `bp` on both apps.

The OpenAI-compatible API (`/v1/...`) answers programs, not browsers: its JSON and event streams carry only the
headers that matter for a non-document answer (`X-Content-Type-Options: nosniff`, and HSTS over https), as
api.openai.com does; the document policies (CSP, frame, opener, referrer) would only cost every call.
"""

from __future__ import annotations

from quart import Blueprint, Response, current_app, request

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
_API_HEADERS = [entry for entry in _HEADERS if entry[0] == "x-content-type-options"]


def apply_security_headers(response: Response, https: bool, api: bool = False) -> Response:
    """Add the security headers a handler has not set itself; HSTS only when the site is served over https; only
    the non-document ones on an `api` answer."""
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}  # one pass (a miss in `Headers` raises inside)
    wanted = _API_HEADERS if api else _HEADERS
    for lower, name, value in wanted + _HSTS if https else wanted:
        if lower not in present:
            headers.add(name, value)
    return response


@bp.after_app_request
async def _add_security_headers(response: Response) -> Response:
    services = current_app.extensions.get("services")
    https = bool(services and services.settings.DOMAIN.startswith("https://"))
    return apply_security_headers(response, https, api=request.path.startswith("/v1/"))
