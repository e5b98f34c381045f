"""The account's paid time (docs/API.md "Orders and payments"): redeeming a code, the codes redeemed, and the
subscription timeline.

`POST /api/redeem {"code"}` redeems for the signed-in user and answers what was added (the bots' redeem command
calls the same core function). Redeeming needs a session: an API key cannot.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StringConstraints
from quart import Blueprint, g

from core.billing.plans import FREE_PLAN, cached_plans
from core.billing.purchases import current_term
from core.billing.redemption import list_redemptions, redeem_code
from core.billing.subscriptions import list_subscriptions
from core.days import iso_utc
from core.errors import Forbidden
from web.context import services
from web.requests import client_ip
from web.validation import Body, parse_body
from webui.auth import require_user

bp = Blueprint("api_billing", __name__)


class Redeem(Body):
    code: Annotated[str, StringConstraints(max_length=64)]


async def _titles() -> dict[str, str]:
    return {name: plan.title for name, plan in (await cached_plans(services().store)).items()}


@bp.post("/api/redeem")
@require_user
async def redeem() -> dict[str, Any]:
    if g.get("auth_kind") == "api_key":
        raise Forbidden("Sign in on the web to redeem a code; API keys cannot.")
    body = await parse_body(Redeem)
    svc = services()
    now = svc.clock()
    redemption = await redeem_code(svc.store, svc.settings, g.user.id, body.code, now=now, ip=client_ip())
    term = await current_term(svc.store, g.user.id, now)
    titles = await _titles()
    return {**redemption.public(), "plan_title": titles.get(redemption.plan or "", redemption.plan),
            "current_plan": term.plan, "current_plan_title": titles.get(term.plan, term.plan),
            "plan_expires_at": iso_utc(term.ends_at)}  # fmt: skip


@bp.get("/api/redemptions")
@require_user
async def redemptions() -> dict[str, Any]:
    titles = await _titles()
    found = await list_redemptions(services().store, g.user.id)
    return {"redemptions": [{**r.public(), "plan_title": titles.get(r.plan or "", r.plan)} for r in found]}


@bp.get("/api/subscriptions")
@require_user
async def subscriptions() -> dict[str, Any]:
    """The current plan and its end, and every segment of paid time (oldest first), with how each was placed."""
    svc = services()
    term = await current_term(svc.store, g.user.id, svc.clock())
    titles = await _titles()
    segments = sorted((sub for sub in await list_subscriptions(svc.store, g.user.id) if sub.plan != FREE_PLAN),
                      key=lambda sub: (sub.starts_at, sub.ends_at))  # fmt: skip
    return {
        "plan": term.plan, "plan_title": titles.get(term.plan, term.plan), "plan_expires_at": iso_utc(term.ends_at),
        "subscriptions": [{**sub.public(), "plan_title": titles.get(sub.plan, sub.plan)} for sub in segments],
    }  # fmt: skip
