"""Who is using the dashboard: the `cg_admin` session cookie of an unblocked user whose role is admin.

Sessions are ordinary core sessions (revocable, sliding expiry, listed on the owner's account page), carried in
a cookie of their own, SameSite=Strict and HttpOnly. State-changing requests must come from the dashboard's own
origin and, once signed in, carry the session's CSRF token in `X-CSRF-Token` (403 csrf_failed).
`current_admin()` caches on `g`: g.user (the admin or None) and g.session. A dashboard session whose user is no
longer an administrator (demoted) gets 403 not_admin on the API; no session at all gets 401.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from quart import Response as QuartResponse
from quart import after_this_request, g, request
from werkzeug.sansio.response import Response
from werkzeug.wrappers import Response as WerkzeugResponse

from core.accounts.sessions import session_ttl
from core.accounts.signin import authenticate_token
from core.accounts.users import User
from core.errors import NotAdmin, NotAuthenticated
from core.site.audit import Actor
from web import requests as web_requests
from web.context import services
from web.requests import UNSAFE_METHODS

ADMIN_COOKIE = "cg_admin"

AnyResponse = QuartResponse | WerkzeugResponse  # what Quart hands to after-request hooks
P = ParamSpec("P")
R = TypeVar("R")


def _secure() -> bool:
    # Secure when the dashboard is reached over https, or the site is https (browsers allow it on localhost).
    return request.scheme == "https" or services().settings.secure_cookies


def set_admin_cookie(response: Response, token: str) -> None:
    """Put an admin session token in the dashboard's cookie."""
    response.set_cookie(
        ADMIN_COOKIE, token, max_age=session_ttl(services().settings), path="/", httponly=True,
        samesite="Strict", secure=_secure(),
    )  # fmt: skip


def clear_admin_cookie(response: Response) -> None:
    """Remove the dashboard's cookie."""
    response.delete_cookie(ADMIN_COOKIE, path="/", httponly=True, samesite="Strict", secure=_secure())


async def _clear_hook(response: AnyResponse) -> AnyResponse:
    clear_admin_cookie(response)
    return response


def _reissue_hook(token: str) -> Callable[[AnyResponse], Awaitable[AnyResponse]]:
    async def hook(response: AnyResponse) -> AnyResponse:
        set_admin_cookie(response, token)
        return response

    return hook


async def current_admin() -> User | None:
    """Return the signed-in administrator of this request, or None (demoted or blocked users are None)."""
    if g.get("_admin_resolved"):
        return g.get("user")
    g._admin_resolved, g.user, g.session = True, None, None
    token = request.cookies.get(ADMIN_COOKIE)
    if not token:
        return None
    svc = services()
    auth = await authenticate_token(svc.store, svc.settings, svc.jwt_secret, token, now=svc.clock(), app="admin")
    if auth is None or not auth.user.is_admin:
        g.not_admin = auth is not None  # signed in, but not (or no longer) an administrator
        after_this_request(_clear_hook)
        return None
    g.user, g.session = auth.user, auth.session
    if auth.new_token:
        after_this_request(_reissue_hook(auth.new_token))
    return auth.user


def check_same_origin() -> None:
    """Refuse a state-changing request sent from any origin but the dashboard's own."""
    web_requests.check_same_origin([request.host_url])


def check_csrf() -> None:
    """Require the same origin and the session's CSRF token on state-changing requests."""
    if request.method not in UNSAFE_METHODS:
        return
    check_same_origin()
    session = g.get("session")
    web_requests.check_csrf_token(session.csrf if session else None)


def actor() -> Actor:
    """Return the signed-in administrator as the author of a change (for the audit log)."""
    user: User = g.user
    return Actor(user.id, user.email or user.phone or user.name or f"#{user.id}")


def require_admin(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Let only signed-in administrators through (401), with the CSRF checks (403)."""

    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if await current_admin() is None:
            raise NotAdmin() if g.get("not_admin") else NotAuthenticated()
        check_csrf()
        return await view(*args, **kwargs)

    return wrapper
