"""The dashboard's pages: sign-in page and JSON sign-in/out, the frame with its navigation, the language switch,
and one page per section. A section page is a template whose script fills it from the JSON API (/api/...); the
overview draws its charts on the server (admin.overview).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from pydantic import StringConstraints
from quart import Blueprint, Response, g, jsonify, redirect, render_template, request

from admin.auth import (
    check_csrf,
    check_same_origin,
    clear_admin_cookie,
    current_admin,
    require_admin,
    set_admin_cookie,
)
from admin.overview import overview_context
from core.accounts.sessions import create_session, revoke_session
from core.accounts.signin import authenticate_password
from core.errors import InvalidInput, NotAdmin
from core.site.config import site_config
from web.context import services
from web.i18n import SUPPORTED_LANGUAGES, load_site_language, request_language, set_language_cookie
from web.requests import client_ip, safe_next
from web.validation import Body, parse_body

bp = Blueprint("admin", __name__)

# (path segment, catalogue key) in menu order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("users", "admin.nav.users"),
    ("plans", "admin.nav.plans"),
    ("orders", "admin.nav.orders"),
    ("codes", "admin.nav.codes"),
    ("models", "admin.nav.models"),
    ("moderation", "admin.nav.moderation"),
    ("announcements", "admin.nav.announcements"),
    ("settings", "admin.nav.settings"),
    ("audit", "admin.nav.audit"),
)
SECTION_NAMES = ", ".join(name for name, _key in SECTIONS)


class AdminLogin(Body):
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=254)] | None = None
    password: Annotated[str, StringConstraints(strip_whitespace=False, max_length=1024)]


@bp.app_template_filter("unix_time")
def _unix_time(seconds: float) -> str:
    """Format unix seconds as date and time (UTC), readable in both languages."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(float(seconds or 0)))


@bp.app_context_processor
async def _dashboard_context() -> dict[str, Any]:
    user = await current_admin()
    await load_site_language()
    request_language()  # after the admin is known, so the admin's own language counts
    session = g.get("session")
    svc = services()
    return {
        "user": user,
        "site_title": (await site_config(svc.store, svc.settings)).title,
        "csrf_token": session.csrf if session else "",
        "current_path": request.full_path.rstrip("?") if request.query_string else request.path,
        "sections": SECTIONS,
    }


async def _page(template: str, **context: Any) -> Response:
    response = Response(await render_template(template, **context), content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/login")
async def login_page() -> Response:
    """Show the administrator sign-in form (signed-in admins go to the dashboard)."""
    if await current_admin() is not None:
        return redirect("/")  # type: ignore[return-value]
    return await _page("admin_login.html")


@bp.get("/")
async def dashboard() -> Response:
    """Show the overview: figures and charts over the chosen days (?from=&to=, YYYY-MM-DD)."""
    if await current_admin() is None:
        return redirect("/login")  # type: ignore[return-value]
    return await _page("admin_overview.html", section=None, title_key="admin.title", **await overview_context())


@bp.get(f"/<any({SECTION_NAMES}):section>")
async def dashboard_section(section: str) -> Response:
    """Show one section; its script loads it from the JSON API."""
    if await current_admin() is None:
        return redirect("/login")  # type: ignore[return-value]
    return await _page(f"admin_{section}.html", section=section, title_key=dict(SECTIONS)[section])


@bp.get("/users/<int:user_id>")
async def user_page(user_id: int) -> Response:
    """Show one user (its script loads /api/users/<id>)."""
    if await current_admin() is None:
        return redirect("/login")  # type: ignore[return-value]
    return await _page("admin_user.html", section="users", title_key="admin.nav.users", user_id=user_id)


@bp.get("/lang/<code>")
async def switch_language(code: str) -> Response:
    """Remember the chosen language and go back."""
    response: Response = redirect(safe_next(request.args.get("next")))  # type: ignore[assignment]
    if code in SUPPORTED_LANGUAGES:
        set_language_cookie(response, code, services().settings.secure_cookies)
    return response


@bp.post("/api/login")
async def login() -> Response:
    """Sign an administrator in: password check (throttled), role check, then a session in `cg_admin`."""
    check_same_origin()
    if not request.is_json:  # a cross-site form cannot send JSON without a CORS preflight
        raise InvalidInput("Send the sign-in as JSON.", field="body")
    body = await parse_body(AdminLogin)
    svc = services()
    target = body.email or body.phone or ""
    user = await authenticate_password(svc.store, svc.settings, target, body.password, ip=client_ip(), now=svc.clock())
    if not user.is_admin:
        raise NotAdmin()
    agent = request.headers.get("User-Agent", "")
    issued = await create_session(
        svc.store,
        svc.settings,
        svc.jwt_secret,
        user.id,
        ip=client_ip(),
        agent=agent,
        now=svc.clock(),
        app="admin",
    )
    response = jsonify({"user": user.public()})
    set_admin_cookie(response, issued.token)
    return response


@bp.post("/api/logout")
async def logout() -> Response:
    """End the dashboard session (CSRF-checked when there is one) and drop the cookie."""
    admin = await current_admin()
    if admin is not None:
        check_csrf()
        await revoke_session(services().store, admin.id, g.session.id)
    response = jsonify({"ok": True})
    clear_admin_cookie(response)
    return response


@bp.get("/api/me")
@require_admin
async def me() -> dict[str, Any]:
    """Return the signed-in administrator and the CSRF token for the dashboard's scripts."""
    return {"user": g.user.public(), "csrf_token": g.session.csrf}
