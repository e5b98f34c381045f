"""Who is calling: session cookie, bearer session token or API key, plus CSRF and same-origin checks.

`await current_user()` resolves once per request and caches on `g`:
  g.user       the User, or None (blocked users are None: their sessions stop at once)
  g.auth_kind  "cookie" | "bearer" | "api_key" | None
  g.session    the core.accounts.sessions.Session (cookie / bearer), else None
  g.api_key_id the key id (api_key), else None
  g.plan       the user's current plan, read with the API key (api_key), else None; pass it to
               `relay_chat(..., plan=)` to skip a store read
`@require_user` answers 401 not_authenticated (403 forbidden to an API key: keys work on /v1 and the read-only
quota and usage endpoints, marked `@allow_api_keys`), and for cookie-authenticated POST/PUT/PATCH/DELETE checks the
Origin (same site only) and the `X-CSRF-Token` header against the session's token (403 csrf_failed).
Bearer tokens and API keys are not sent by browsers on their own, so they need no CSRF token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from quart import Response as QuartResponse
from quart import after_this_request, g, request
from werkzeug.sansio.response import Response
from werkzeug.wrappers import Response as WerkzeugResponse

from core.accounts.api_keys import ApiKeyCaller, looks_like_api_key, resolve_api_key_caller
from core.accounts.sessions import IssuedSession, create_session, session_ttl
from core.accounts.signin import authenticate_token
from core.accounts.users import User, user_from_fields
from core.errors import Forbidden, NotAuthenticated
from web import requests as web_requests
from web.context import services
from web.requests import UNSAFE_METHODS, client_ip

SESSION_COOKIE = "cg_session"
SESSION_TOKEN_HEADER = "X-Session-Token"  # a bearer session's slid token (the cookie gets it the same way)

AnyResponse = QuartResponse | WerkzeugResponse  # what Quart hands to after-request hooks
P = ParamSpec("P")
R = TypeVar("R")


def check_same_origin() -> None:
    """Refuse a state-changing request whose Origin is another site (a browser always sends it cross-site)."""
    web_requests.check_same_origin([url for url in (services().settings.DOMAIN, request.host_url) if url])


def check_csrf() -> None:
    """For cookie-authenticated state-changing requests: same origin, and the session's CSRF token in a header."""
    if request.method not in UNSAFE_METHODS or g.get("auth_kind") != "cookie":
        return
    check_same_origin()
    web_requests.check_csrf_token(g.session.csrf)


def secure_cookies() -> bool:
    """Mark cookies Secure when the site is https: DOMAIN says so, or (DOMAIN unset) this request came over https."""
    return services().settings.secure_cookies or web_requests.public_base_url().startswith("https://")


def set_session_cookie(response: Response, token: str) -> None:
    """Put the session token in the HttpOnly, SameSite=Lax cookie (Secure on https)."""
    response.set_cookie(
        SESSION_COOKIE, token, max_age=session_ttl(services().settings), path="/", httponly=True, samesite="Lax",
        secure=secure_cookies(),
    )  # fmt: skip


def clear_session_cookie(response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax", secure=secure_cookies())


async def start_session(user: User) -> IssuedSession:
    """Open a session for a user who just proved who they are (from this request's IP and user agent)."""
    svc = services()
    agent = request.headers.get("User-Agent", "")
    return await create_session(
        svc.store, svc.settings, svc.jwt_secret, user.id, ip=client_ip(), agent=agent, now=svc.clock()
    )


def _remember(user: User | None, kind: str | None, session: Any = None, api_key_id: str | None = None) -> None:
    g.user, g.auth_kind, g.session, g.api_key_id = user, kind, session, api_key_id
    g.plan = None


async def _from_token(token: str, kind: str) -> None:
    svc = services()
    auth = await authenticate_token(svc.store, svc.settings, svc.jwt_secret, token, now=svc.clock())
    if auth is None:
        if kind == "cookie":
            after_this_request(_clear_cookie_hook)  # a dead cookie is dropped, not resent forever
        return
    _remember(auth.user, kind, auth.session)
    if auth.new_token:
        after_this_request(_reissue_hook(auth.new_token, kind))


async def _from_api_key(key: str) -> None:
    svc = services()
    caller = await resolve_api_key_caller(svc.store, key, svc.clock())
    user = user_from_fields(caller.user_fields) if caller else None
    if caller is not None and user is not None and not user.blocked:
        _remember(user, "api_key", api_key_id=caller.owner.key_id)
        g.plan = caller.choice.plan  # read in the same round trip: /v1 needs no second one for the plan


def api_key_credential() -> str | None:
    """Return the `Authorization: Bearer sk-...` API key of this request, or None (another credential or none)."""
    return bearer_api_key(request.headers.get("Authorization", ""))


def bearer_api_key(authorization: str) -> str | None:
    """Return the API key of an `Authorization` header's value (`Bearer sk-...`), or None."""
    scheme, _, credential = authorization.partition(" ")
    credential = credential.strip()
    return credential if scheme.lower() == "bearer" and looks_like_api_key(credential) else None


def remember_api_key_user(user: User, caller: ApiKeyCaller) -> None:
    """Record the caller an API key was resolved to elsewhere (the /v1 fast path), as `current_user` would."""
    g._auth_resolved = True
    _remember(user, "api_key", api_key_id=caller.owner.key_id)
    g.plan = caller.choice.plan


async def _clear_cookie_hook(response: AnyResponse) -> AnyResponse:
    clear_session_cookie(response)
    return response


def _reissue_hook(token: str, kind: str) -> Callable[[AnyResponse], Awaitable[AnyResponse]]:
    async def hook(response: AnyResponse) -> AnyResponse:
        if kind == "cookie":
            set_session_cookie(response, token)
        else:
            response.headers[SESSION_TOKEN_HEADER] = token
        return response

    return hook


async def current_user() -> User | None:
    """Return the signed-in user of this request (resolved once, cached on `g`), or None."""
    if g.get("_auth_resolved"):
        return g.get("user")
    g._auth_resolved = True
    _remember(None, None)
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    credential = credential.strip()
    if scheme.lower() == "bearer" and credential:
        await (_from_api_key(credential) if credential.startswith("sk-") else _from_token(credential, "bearer"))
    elif not scheme and (cookie := request.cookies.get(SESSION_COOKIE)):
        await _from_token(cookie, "cookie")
    return g.get("user")


API_KEY_SCOPE = "API keys work on /v1 and on the read-only quota and usage endpoints; sign in for the rest."


def require_user(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Let only signed-in sessions through (401; an API key gets 403), with CSRF checks for cookie sessions (403)."""
    return _require(view, api_keys=False)


def allow_api_keys(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Let signed-in sessions and API keys through (401): for /v1 and the read-only quota and usage endpoints."""
    return _require(view, api_keys=True)


def _require(view: Callable[P, Awaitable[R]], *, api_keys: bool) -> Callable[P, Awaitable[R]]:
    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if await current_user() is None:
            raise NotAuthenticated()
        if not api_keys and g.get("auth_kind") == "api_key":
            raise Forbidden(API_KEY_SCOPE)
        check_csrf()
        return await view(*args, **kwargs)

    return wrapper
