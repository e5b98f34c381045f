"""The account API (docs/API.md "Auth API", added): sessions, password change, profile, bind, invitations.

Session and credential changes need a session (cookie or bearer token): a leaked API key cannot use them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from pydantic import StringConstraints
from quart import Blueprint, Response, g, jsonify

from core.accounts import signin, users
from core.accounts.api_keys import revoke_all_api_keys
from core.accounts.sessions import list_sessions, revoke_session, revoke_sessions
from core.billing.invitations import list_commissions, list_rewards
from core.errors import NotFound
from core.site.config import runtime_settings
from web.context import services
from web.requests import client_ip, public_base_url
from web.validation import Body, parse_body
from webui.auth import clear_session_cookie, require_user

bp = Blueprint("api_account", __name__)

Password = Annotated[str, StringConstraints(strip_whitespace=False, max_length=1024)]


class PasswordChange(Body):
    old_password: Password
    new_password: Password
    revoke_api_keys: bool = False  # the account page offers it: a changed password may mean a leaked key too


class ProfileChange(Body):
    name: Annotated[str, StringConstraints(max_length=64)] | None = None
    lang: Literal["zh-CN", "en"] | None = None


class Bind(Body):
    target: Annotated[str, StringConstraints(max_length=254)]
    code: Annotated[str, StringConstraints(max_length=16)]


def _session_id() -> str:
    """Return the current session's id (require_user has refused API keys already)."""
    return str(g.session.id)


@bp.get("/api/sessions")
@require_user
async def sessions() -> dict[str, Any]:
    current = _session_id()
    svc = services()
    live = await list_sessions(svc.store, g.user.id, svc.clock())
    return {"sessions": [{**session.public(), "current": session.id == current} for session in live]}


@bp.delete("/api/sessions/<session_id>")
@require_user
async def end_session(session_id: str) -> Response:
    current = _session_id()
    if not await revoke_session(services().store, g.user.id, session_id[:64]):
        raise NotFound("No such session.")
    response = jsonify({"ok": True})
    if session_id == current:
        clear_session_cookie(response)
    return response


@bp.post("/api/sessions/revoke-others")
@require_user
async def end_other_sessions() -> dict[str, Any]:
    current = _session_id()
    return {"revoked": await revoke_sessions(services().store, g.user.id, keep=current)}


@bp.post("/api/account/password")
@require_user
async def change_password() -> dict[str, Any]:
    current = _session_id()
    body = await parse_body(PasswordChange)
    svc = services()
    revoked = await signin.change_password(
        svc.store, svc.settings, g.user.id, body.old_password, body.new_password, ip=client_ip(),
        keep_session=current, now=svc.clock(),
    )  # fmt: skip
    if not body.revoke_api_keys:
        return {"ok": True, "revoked": revoked}
    return {"ok": True, "revoked": revoked, "api_keys_revoked": await revoke_all_api_keys(svc.store, g.user.id)}


@bp.patch("/api/account")
@require_user
async def update_profile() -> dict[str, Any]:
    body = await parse_body(ProfileChange)
    user = await users.update_profile(services().store, g.user.id, name=body.name, lang=body.lang)
    return {"user": user.public()}


@bp.post("/api/account/bind")
@require_user
async def bind() -> dict[str, Any]:
    body = await parse_body(Bind)
    svc = services()
    user = await signin.bind_target(svc.store, svc.settings, g.user.id, body.target, body.code)
    return {"user": user.public()}


@bp.get("/api/account/invites")
@require_user
async def invites() -> dict[str, Any]:
    """The invitation link and counts, the rewards given (an invitation counts once the invitee is verified or
    pays), and the commission ledger with its total in fen."""
    user = g.user
    svc = services()
    link = f"{public_base_url()}/register?{urlencode({'code': user.invite_code})}"
    rewards = await list_rewards(svc.store, user.id)
    ledger = await list_commissions(svc.store, user.id)
    terms = await runtime_settings(svc.store, svc.settings)  # the dashboard's commission terms
    return {"invite_code": user.invite_code, "invite_link": link, "invitee_count": user.invitee_count,
            "reset_chances": user.reset_chances,
            "rewarded": sum(reward.status == "granted" for reward in rewards),
            "commission": {"percent": terms.INVITE_COMMISSION_PERCENT,
                           "days": terms.INVITE_COMMISSION_DAYS,
                           "total": sum(entry.commission for entry in ledger),
                           "entries": [entry.public() for entry in ledger]}}  # fmt: skip
