"""Facts about the request that both apps and the webhooks need: the client's address, safe redirect targets, and
the origin and CSRF checks of state-changing requests."""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from quart import request

from core.errors import CsrfFailed
from web.context import services

CSRF_HEADER = "X-CSRF-Token"
_HOST = re.compile(r"^[A-Za-z0-9.-]+(?::[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?$")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def client_ip() -> str:
    """Return the caller's IP: the peer, or behind TRUST_PROXY_HEADERS the address our nearest proxies saw.

    Each proxy appends the address it received the request from to X-Forwarded-For, so with TRUSTED_PROXY_COUNT
    proxies in front of us the client is the entry that many places from the right; everything to its left was
    written by the client and is ignored (a client that rotates a made-up leftmost entry cannot dodge per-IP limits).
    A header with fewer entries than trusted proxies did not come through them: the peer is used.
    """
    settings = services().settings
    peer = request.remote_addr or "unknown"
    if not settings.TRUST_PROXY_HEADERS:
        return peer
    hops = [hop.strip() for value in request.headers.getlist("X-Forwarded-For") for hop in value.split(",")]
    hops = [hop for hop in hops if hop]
    count = max(1, settings.TRUSTED_PROXY_COUNT)
    return hops[-count] if len(hops) >= count else peer


def public_base_url() -> str:
    """The site's public base URL for links it shows (invitations, the API base, share links): DOMAIN when set,
    else the scheme and host this request came to (as the nearest proxy says, behind TRUST_PROXY_HEADERS)."""
    settings = services().settings
    if settings.DOMAIN:
        return settings.DOMAIN
    scheme, host = request.scheme, request.host
    if settings.TRUST_PROXY_HEADERS:
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
        forwarded = request.headers.get("X-Forwarded-Host", "").split(",")[-1].strip()
        scheme = proto if proto in ("http", "https") else scheme
        host = forwarded or host
    return f"{scheme}://{host if _HOST.match(host or '') else 'localhost'}"


def safe_next(value: str | None, default: str = "/") -> str:
    """Return `value` if it is a path on this site (no scheme, host or `//`), else `default`: no open redirects."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(char) < 0x20 for char in value):
        return default
    return value


def origin_of(url: str) -> str:
    """Return `scheme://host[:port]` of a URL, lower-cased."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_same_origin(allowed: Iterable[str]) -> None:
    """Refuse a state-changing request whose Origin is not one of `allowed` (a browser always sends it cross-site)."""
    origin = request.headers.get("Origin")
    if request.method not in UNSAFE_METHODS or origin is None:
        return
    if origin.lower() not in {origin_of(url) for url in allowed}:
        raise CsrfFailed()


def check_csrf_token(expected: str | None) -> None:
    """Require the session's CSRF token in the `X-CSRF-Token` header of a state-changing request."""
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not expected or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfFailed()
