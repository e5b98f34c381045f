"""One-time sign-in links from the bots (core.accounts.login_links): `/auth/link/<token>`.

GET shows a page whose form posts the token back (a script submits it at once; without scripts it is one click).
Only the POST uses the link up, so a chat app that fetches the URL for a link preview does not spend it. The POST
signs the browser in as the link's account and redirects to the link's local path (`/pricing` for /plan).
"""

from __future__ import annotations

from quart import Blueprint, Response, redirect

from core.accounts.login_links import TOKEN_MAX_CHARS, consume_login_link
from web.context import services
from web.requests import safe_next
from webui.auth import check_same_origin, set_session_cookie, start_session
from webui.pages import render_page

bp = Blueprint("login_link", __name__)


async def _page(state: str, status: int = 200) -> Response:
    response = await render_page("login_link.html", link_state=state)
    response.status_code = status
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/auth/link/<token>")
async def show(token: str) -> Response:
    """Show the page that signs the browser in (nothing is used up yet)."""
    return await _page("ready" if len(token) <= TOKEN_MAX_CHARS else "expired")


@bp.post("/auth/link/<token>")
async def sign_in(token: str) -> Response:
    """Use the link: sign in as its account and go to its page; an used or expired link says so."""
    check_same_origin()
    svc = services()
    link = await consume_login_link(svc.store, token)
    if link is None:
        return await _page("expired", status=410)
    issued = await start_session(link.user)
    await svc.store.redis.hset(svc.store.keys.user(link.user.id), "last_login_at", svc.clock())
    response: Response = redirect(safe_next(link.next_path), code=303)  # type: ignore[assignment]
    set_session_cookie(response, issued.token)
    return response
