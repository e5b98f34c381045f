"""Users API (issue 11, item 2): list and search, one user's picture, and the operator's actions (audited)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from pydantic import StrictBool, StrictInt, StringConstraints
from quart import Blueprint, request

from admin.auth import actor, require_admin
from core.accounts import admin_users
from web.context import services
from web.validation import Body, parse_body

bp = Blueprint("admin_users", __name__)


class Block(Body):
    blocked: StrictBool


class Grant(Body):
    plan: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    days: StrictInt


class ResetChances(Body):
    add: StrictInt


def _limit() -> int:
    raw = request.args.get("limit", "50")
    return int(raw) if raw.isdigit() else 0  # 0 is refused by core with a clear message


@bp.get("/api/users")
@require_admin
async def list_users() -> dict[str, Any]:
    svc = services()
    page = await admin_users.list_users_page(
        svc.store, query=request.args.get("q", ""), cursor=request.args.get("cursor") or None,
        sort=request.args.get("sort", "created"), limit=_limit(), now=svc.clock(),
    )  # fmt: skip
    return {"users": [row.public() for row in page.users], "next_cursor": page.next_cursor}


@bp.get("/api/users/<int:user_id>")
@require_admin
async def get_user(user_id: int) -> dict[str, Any]:
    svc = services()
    return (await admin_users.user_detail(svc.store, user_id, svc.clock())).public()


@bp.post("/api/users/<int:user_id>/block")
@require_admin
async def block(user_id: int) -> dict[str, Any]:
    body = await parse_body(Block)
    svc = services()
    user = await admin_users.block_user(svc.store, actor(), user_id, body.blocked, svc.clock())
    return {"user": user.public()}


@bp.post("/api/users/<int:user_id>/grant")
@require_admin
async def grant(user_id: int) -> dict[str, Any]:
    body = await parse_body(Grant)
    svc = services()
    subscription = await admin_users.grant_plan(svc.store, actor(), user_id, body.plan, body.days, svc.clock())
    return {"subscription": asdict(subscription)}


@bp.post("/api/users/<int:user_id>/reset-chances")
@require_admin
async def reset_chances(user_id: int) -> dict[str, Any]:
    body = await parse_body(ResetChances)
    svc = services()
    return {"reset_chances": await admin_users.add_reset_chances(svc.store, actor(), user_id, body.add, svc.clock())}


@bp.post("/api/users/<int:user_id>/revoke-sessions")
@require_admin
async def revoke_sessions(user_id: int) -> dict[str, Any]:
    svc = services()
    return {"revoked": await admin_users.sign_out_everywhere(svc.store, actor(), user_id, svc.clock())}


@bp.delete("/api/users/<int:user_id>")
@require_admin
async def delete_user(user_id: int) -> dict[str, Any]:
    svc = services()
    await admin_users.remove_user(svc.store, actor(), user_id, svc.clock())
    return {"ok": True}
