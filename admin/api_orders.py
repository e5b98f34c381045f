"""Orders API (issue 11, item 4): lists by status, user and dates; one order with every payment callback and its
verdict; refunds; reconciliation on demand; callbacks that named no order."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request

from admin.auth import actor, require_admin
from core.billing import order_admin
from core.errors import InvalidInput
from web.context import services

bp = Blueprint("admin_orders", __name__)


def _user_filter() -> int | None:
    raw = request.args.get("user", "").strip().lstrip("#")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise InvalidInput("user is a user id.", field="user")
    return int(raw)


@bp.get("/api/orders")
@require_admin
async def orders() -> dict[str, Any]:
    args = request.args
    page = await order_admin.list_orders_page(
        services().store, status=args.get("status") or None, user_id=_user_filter(), start=args.get("from") or None,
        end=args.get("to") or None, cursor=args.get("cursor") or None,
    )  # fmt: skip
    return {
        "orders": [{**order.public(), "user_id": order.user_id} for order in page.orders],
        "next_cursor": page.next_cursor,
    }


@bp.post("/api/orders/reconcile")
@require_admin
async def reconcile() -> dict[str, Any]:
    svc = services()
    return await order_admin.reconcile_now(svc.store, svc.settings, svc.http, actor(), svc.clock(), svc.metrics)


@bp.get("/api/orders/<order_id>")
@require_admin
async def order(order_id: str) -> dict[str, Any]:
    return await order_admin.order_detail(services().store, order_id)


@bp.post("/api/orders/<order_id>/refund")
@require_admin
async def refund(order_id: str) -> dict[str, Any]:
    svc = services()
    return await order_admin.refund_order(svc.store, actor(), order_id, svc.clock())


@bp.get("/api/callbacks/unmatched")
@require_admin
async def unmatched() -> dict[str, Any]:
    return {"callbacks": await order_admin.stray_callbacks(services().store)}
