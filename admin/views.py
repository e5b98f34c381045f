"""The dashboard shell: sign-in page and JSON sign-in/out, the frame with its navigation, the language switch.

The sections (users, plans, ...) render the frame with an empty content area; the dashboard issue fills them.
"""

from __future__ import annotations

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
from core.accounts.sessions import create_session, revoke_session
from core.accounts.signin import authenticate_password
from core.errors import InvalidInput, NotAdmin
from web.context import services
from web.i18n import SUPPORTED_LANGUAGES, request_language, set_language_cookie
from web.requests import client_ip, safe_next
from web.validation import Body, parse_body

bp = Blueprint("admin", __name__)

# (path segment, catalogue key) in menu order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("users", "admin.nav.users"),
    ("plans", "admin.nav.plans"),
    ("orders", "admin.nav.orders"),
    ("models", "admin.nav.models"),
    ("moderation", "admin.nav.moderation"),
    ("announcements", "admin.nav.announcements"),
    ("settings", "admin.nav.settings"),
)
SECTION_NAMES = ", ".join(name for name, _key in SECTIONS)


class AdminLogin(Body):
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=254)] | None = None
    password: Annotated[str, StringConstraints(strip_whitespace=False, max_length=1024)]


@bp.app_context_processor
async def _dashboard_context() -> dict[str, Any]:
    user = await current_admin()
    request_language()  # after the admin is known, so the admin's own language counts
    session = g.get("session")
    return {
        "user": user,
        "site_title": services().settings.NEXT_PUBLIC_TITLE,
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
    """Show the dashboard frame."""
    if await current_admin() is None:
        return redirect("/login")  # type: ignore[return-value]
    return await _page("admin_dashboard.html", section=None, title_key="admin.title")


@bp.get(f"/<any({SECTION_NAMES}):section>")
async def dashboard_section(section: str) -> Response:
    """Show the frame with one section selected (its tools arrive with the dashboard issue)."""
    if await current_admin() is None:
        return redirect("/login")  # type: ignore[return-value]
    return await _page("admin_dashboard.html", section=section, title_key=dict(SECTIONS)[section])


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
