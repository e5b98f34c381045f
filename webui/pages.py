"""The HTML pages around accounts: sign in, register, forgot password, account (the chat at `/`: webui/chat_page.py).

Handlers only choose a template; the forms post JSON to the Auth API (docs/API.md) from static scripts. Every
template gets the site context (title, WeChat account, signed-in user, CSRF token, which codes are required)
from `_site_context`, so later pages (the chat) get it for free.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlencode

from quart import Blueprint, Response, g, redirect, render_template, request

from core.accounts.preferences import get_preferences
from core.accounts.verification import delivery_available
from core.site.config import site_config
from web.context import services
from web.i18n import SUPPORTED_LANGUAGES, load_site_language, request_language, set_language_cookie
from web.requests import public_base_url, safe_next
from webui.api_preferences import cookie_theme
from webui.auth import current_user, secure_cookies
from webui.billing_context import billing_context
from webui.plan_summary import plan_summary

bp = Blueprint("pages", __name__)

MAX_INVITE_CODE_CHARS = 64


def code_requirements() -> dict[str, bool]:
    """Say whether registering by email / phone needs a code: only when a provider can deliver one."""
    notifier = services().notifier
    return {
        "code_required_for_email": delivery_available(notifier, "email"),
        "code_required_for_phone": delivery_available(notifier, "phone"),
    }


def csrf_token() -> str:
    """Return the signed-in session's CSRF token for the `<meta name="csrf-token">` tag, or an empty string."""
    session = g.get("session")
    return str(getattr(session, "csrf", "") or "")


@bp.app_template_filter("unix_date")
def _unix_date(seconds: float) -> str:
    """Format unix seconds as an ISO date (UTC), readable in both languages."""
    return time.strftime("%Y-%m-%d", time.gmtime(float(seconds or 0)))


def contact_link(contact: str) -> str:
    """Where the operator's contact (SUPPORT_CONTACT) links to: an email, a web address, else nowhere."""
    if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", contact):
        return f"mailto:{contact}"
    return contact if re.match(r"https?://", contact) else ""


@bp.app_context_processor
async def _site_context() -> dict[str, Any]:
    svc = services()
    site = await site_config(svc.store, svc.settings)
    user = await current_user()
    await load_site_language()
    request_language()  # after the user is known, so the user's own language counts
    contact = svc.settings.SUPPORT_CONTACT.strip()
    return {
        "user": user,
        "site_title": site.title,
        "wechat_oa": site.wechat_oa,
        "registration": site.registration,
        "csrf_token": csrf_token(),
        "current_path": request.full_path.rstrip("?") if request.query_string else request.path,
        "support_contact": contact,
        "support_link": contact_link(contact),
        "theme": await page_theme(user),
        **code_requirements(),
    }


async def page_theme(user: Any) -> str:
    """The theme the page is painted in: the account's preference, else this browser's (light | dark | system)."""
    if user is None:
        return cookie_theme()
    return (await get_preferences(services().store, user.id)).theme


async def render_page(template: str, **context: Any) -> Response:
    """Render a page that must never be cached (it carries a CSRF token and the user's data)."""
    response = Response(await render_template(template, **context), content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


def _to_login(next_path: str) -> Response:
    return redirect(f"/login?{urlencode({'next': next_path})}")  # type: ignore[return-value]


@bp.get("/login")
async def login() -> Response:
    """Show the sign-in form (password or code); signed-in users go straight on."""
    next_path = safe_next(request.args.get("next"))
    if await current_user() is not None:
        return redirect(next_path)  # type: ignore[return-value]
    wechat_code = bool(services().settings.WECHAT_TOKEN.get_secret_value())  # the official account hands out codes
    return await render_page("login.html", next_path=next_path, wechat_code=wechat_code)


@bp.get("/register")
async def register() -> Response:
    """Show the registration form, with the invitation code of `?code=` filled in."""
    next_path = safe_next(request.args.get("next"))
    if await current_user() is not None:
        return redirect(next_path)  # type: ignore[return-value]
    invite_code = request.args.get("code", "").strip()[:MAX_INVITE_CODE_CHARS]
    return await render_page("register.html", next_path=next_path, invite_code=invite_code)


@bp.get("/forgot")
async def forgot() -> Response:
    """Show the password-reset form."""
    return await render_page("forgot.html")


@bp.get("/account")
async def account() -> Response:
    """Show the account page to its owner."""
    user = await current_user()
    if user is None:
        return _to_login("/account")
    settings, base = services().settings, public_base_url()
    site = await site_config(services().store, settings)
    return await render_page(
        "account.html",
        invite_link=f"{base}/register?{urlencode({'code': user.invite_code})}",
        invite_reward=site.invite_reset_chances,
        api_base=f"{base}/v1",
        plan_summary=await plan_summary(user),
        **await billing_context(user.id),
    )


@bp.get("/lang/<code>")
async def switch_language(code: str) -> Response:
    """Remember the chosen language in the `cg_lang` cookie and go back to the page the user was on."""
    if code not in SUPPORTED_LANGUAGES:
        return redirect(safe_next(request.args.get("next")))  # type: ignore[return-value]
    response: Response = redirect(safe_next(request.args.get("next")))  # type: ignore[assignment]
    set_language_cookie(response, code, secure_cookies())
    return response
