"""Facts about the request that both apps and the webhooks need: the client's address, safe redirect targets, and
the origin and CSRF checks of state-changing requests."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit

from quart import request

from core.errors import CsrfFailed
from web.context import services

CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def client_ip() -> str:
    """Return the caller's IP: the first X-Forwarded-For hop when TRUST_PROXY_HEADERS, else the peer."""
    if services().settings.TRUST_PROXY_HEADERS:
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return request.remote_addr or "unknown"


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
