"""Signing in with a one-time code from the WeChat official account (its 登录 command; core.accounts.login_codes).

`GET /login/code` shows the form (`?next=` like /login); `POST /api/auth/login-code {"code"}` signs the browser in
(`{"token","user"}` + the session cookie, as `/api/auth/login` does). Wrong codes count against the client IP.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints
from quart import Blueprint, Response, jsonify, redirect, request

from core.accounts.login_codes import consume_login_code
from web.context import services
from web.requests import client_ip, safe_next
from web.validation import Body, parse_body
from webui.auth import check_same_origin, current_user, set_session_cookie, start_session
from webui.pages import render_page

bp = Blueprint("login_code", __name__)


class CodeLogin(Body):
    code: Annotated[str, StringConstraints(max_length=32)]


@bp.get("/login/code")
async def page() -> Response:
    """Show the sign-in-code form; signed-in users go straight on."""
    next_path = safe_next(request.args.get("next"))
    if await current_user() is not None:
        return redirect(next_path)  # type: ignore[return-value]
    return await render_page("login_code.html", next_path=next_path)


@bp.post("/api/auth/login-code")
async def sign_in() -> tuple[Response, int]:
    """Use a sign-in code: sign in as its account (InvalidCode when wrong, used or expired)."""
    check_same_origin()
    body = await parse_body(CodeLogin)
    svc = services()
    user = await consume_login_code(svc.store, svc.settings, body.code, ip=client_ip())
    issued = await start_session(user)
    await svc.store.redis.hset(svc.store.keys.user(user.id), "last_login_at", svc.clock())
    response = jsonify({"token": issued.token, "user": user.public()})
    set_session_cookie(response, issued.token)
    return response, 200
