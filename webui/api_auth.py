"""The Auth API (docs/API.md "Auth API"): codes, register, sign in, sign out, reset, and who am I.

Every state-changing route here refuses a cross-site Origin (login CSRF), and sets or clears the session cookie.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import StringConstraints, model_validator
from quart import Blueprint, Response, g, jsonify

from core.accounts import throttle, verification
from core.accounts.registration import register_user
from core.accounts.sessions import revoke_session
from core.accounts.signin import authenticate_code, authenticate_password, reset_password
from core.accounts.users import User
from core.accounts.verification import CodeNotifier, delivery_available
from core.billing.purchases import current_term
from core.billing.subscriptions import current_plan
from core.days import iso_utc
from core.errors import NotAuthenticated
from web.context import services
from web.i18n import load_site_language, request_language
from web.requests import client_ip
from web.validation import Body, parse_body
from webui.auth import (
    check_csrf,
    check_same_origin,
    clear_session_cookie,
    current_user,
    set_session_cookie,
    start_session,
)

bp = Blueprint("api_auth", __name__)
bp.before_request(check_same_origin)
bp.before_request(load_site_language)  # a new account's language defaults to the site's

Address = Annotated[str, StringConstraints(max_length=254)]
# Passwords are taken verbatim (no stripping); length rules live in core (weak_password).
Password = Annotated[str, StringConstraints(strip_whitespace=False, max_length=1024)]
Code = Annotated[str, StringConstraints(max_length=16)]


class CodeRequest(Body):
    target: Address
    purpose: Literal["register", "login", "reset", "bind"]


class Register(Body):
    email: Address | None = None
    phone: Address | None = None
    password: Password
    code: Code | None = None
    invite_code: Annotated[str, StringConstraints(max_length=32)] | None = None
    name: Annotated[str, StringConstraints(max_length=64)] = ""
    lang: Literal["zh-CN", "en"] | None = None


class Login(Body):
    email: Address | None = None
    phone: Address | None = None
    password: Password | None = None
    code: Code | None = None

    @model_validator(mode="after")
    def _one_secret(self) -> Login:
        if (self.password is None) == (self.code is None):
            raise ValueError("give a password or a code")
        if (self.email is None) == (self.phone is None):
            raise ValueError("give an email or a phone")
        return self


class Reset(Body):
    target: Address
    code: Code
    password: Password


def notifier() -> CodeNotifier:
    """Return the notifier that delivers codes."""
    return services().notifier


async def _signed_in(user: User, status: int = 200) -> tuple[Response, int]:
    issued = await start_session(user)
    response = jsonify({"token": issued.token, "user": user.public()})
    set_session_cookie(response, issued.token)
    return response, status


@bp.post("/api/auth/code")
async def send_code() -> dict[str, Any]:
    body = await parse_body(CodeRequest)
    svc = services()
    cooldown = await verification.send_code(
        svc.store, svc.settings, notifier(), body.target, body.purpose, ip=client_ip(), now=svc.clock(),
        lang=request_language(),
    )  # fmt: skip
    return {"cooldown": cooldown}


@bp.post("/api/auth/register")
async def register() -> tuple[Response, int]:
    body = await parse_body(Register)
    svc = services()
    async with throttle.probes(svc.store, svc.settings, client_ip()):  # a 409 counts like a failed sign-in
        user = await register_user(
            svc.store, svc.settings, notifier(), email=body.email, phone=body.phone, password=body.password,
            name=body.name, lang=body.lang or request_language(), invite_code=body.invite_code, code=body.code,
            now=svc.clock(), ip=client_ip(),
        )  # fmt: skip
    return await _signed_in(user, 201)


@bp.post("/api/auth/login")
async def login() -> tuple[Response, int]:
    body = await parse_body(Login)
    svc = services()
    target = body.email or body.phone or ""
    if body.code is not None:
        user = await authenticate_code(svc.store, svc.settings, target, body.code, ip=client_ip(), now=svc.clock())
    else:
        user = await authenticate_password(
            svc.store, svc.settings, target, body.password or "", ip=client_ip(), now=svc.clock()
        )
    return await _signed_in(user)


@bp.post("/api/auth/logout")
async def logout() -> Response:
    """End this request's session (cookie or bearer token) and drop the cookie; signed out already is fine.

    A live cookie session needs the X-CSRF-Token header here too (403 csrf_failed), like every cookie write.
    """
    user = await current_user()
    session = g.get("session")
    if user is not None and session is not None:
        check_csrf()
        await revoke_session(services().store, user.id, session.id)
    response = jsonify({"ok": True})
    clear_session_cookie(response)
    return response


@bp.post("/api/auth/reset")
async def reset() -> Response:
    body = await parse_body(Reset)
    svc = services()
    await reset_password(svc.store, svc.settings, body.target, body.code, body.password)
    response = jsonify({"ok": True})
    clear_session_cookie(response)  # every session ended, this browser's too
    return response


@bp.get("/api/auth/options")
async def options() -> dict[str, Any]:
    """Say which kinds of address can receive codes (a code is then required to register with one)."""
    current = notifier()
    return {"email_codes": delivery_available(current, "email"),
            "sms_codes": delivery_available(current, "phone")}  # fmt: skip


@bp.get("/api/me")
async def me() -> dict[str, Any]:
    user = await current_user()
    if user is None:
        raise NotAuthenticated()
    session = g.get("session")
    store, now = services().store, services().clock()
    term = await current_term(store, user.id, now)
    plan = await current_plan(store, user.id, now)
    return {
        "user": user.public(),
        "csrf_token": session.csrf if session else None,
        "plan": plan.name,  # the plan's name; "plan_expires_at": end of its paid time (ISO 8601 UTC), null on free
        "plan_title": plan.title,
        "plan_expires_at": iso_utc(term.ends_at) if term.plan == plan.name else None,
    }
