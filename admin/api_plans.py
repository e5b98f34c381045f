"""Plans API (issue 11, item 3): the `chatgate plans import` shape (prices in integer fen), audited changes."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from admin.auth import actor, require_admin
from core.billing import plan_admin
from core.billing.plans import list_plans
from core.billing.subscriptions import plan_subscribers
from web.context import services
from web.validation import parse_object

bp = Blueprint("admin_plans", __name__)


@bp.get("/api/plans")
@require_admin
async def plans() -> dict[str, Any]:
    svc = services()
    now = svc.clock()
    return {
        "plans": [
            plan_admin.plan_summary(plan, await plan_subscribers(svc.store, plan.name, now))
            for plan in await list_plans(svc.store)
        ]
    }


@bp.post("/api/plans")
@require_admin
async def create() -> tuple[dict[str, Any], int]:
    svc = services()
    plan = await plan_admin.create_plan(svc.store, actor(), await parse_object(), svc.clock())
    return plan_admin.plan_summary(plan, 0), 201


@bp.put("/api/plans/<name>")
@require_admin
async def update(name: str) -> dict[str, Any]:
    svc = services()
    plan = await plan_admin.update_plan(svc.store, actor(), name, await parse_object(), svc.clock())
    return plan_admin.plan_summary(plan, await plan_subscribers(svc.store, name, svc.clock()))


@bp.delete("/api/plans/<name>")
@require_admin
async def delete(name: str) -> dict[str, Any]:
    svc = services()
    await plan_admin.remove_plan(svc.store, actor(), name, svc.clock())
    return {"ok": True}
