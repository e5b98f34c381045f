"""Redemption codes API (issue 11, item 5): create a batch (its codes are in this one answer: the page offers them
as CSV), list batches or one batch's codes with who redeemed them, disable a batch."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StrictInt, StringConstraints
from quart import Blueprint, request

from admin.auth import actor, require_admin
from core.billing import codes_admin
from web.context import services
from web.validation import Body, parse_body

bp = Blueprint("admin_codes", __name__)


class NewBatch(Body):
    plan: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    days: StrictInt | None = None
    reset_chances: StrictInt | None = None
    count: StrictInt
    expires_at: Annotated[str, StringConstraints(max_length=40)] | StrictInt | None = None
    note: Annotated[str, StringConstraints(max_length=200)] = ""


@bp.post("/api/codes")
@require_admin
async def create() -> tuple[dict[str, Any], int]:
    body = await parse_body(NewBatch)
    svc = services()
    batch = await codes_admin.create_batch(
        svc.store, actor(), plan=body.plan, days=body.days, reset_chances=body.reset_chances, count=body.count,
        expires_at=body.expires_at, note=body.note, now=svc.clock(),
    )  # fmt: skip
    view = codes_admin.BatchView(batch, False, 0)
    return {"batch": view.public(), "codes": codes_admin.codes_of(batch)}, 201


@bp.get("/api/codes")
@require_admin
async def codes() -> dict[str, Any]:
    store = services().store
    batch_id = request.args.get("batch", "").strip()
    if not batch_id:
        return {"batches": [view.public() for view in await codes_admin.batches(store)]}
    view, statuses = await codes_admin.batch_detail(store, batch_id)
    return {"batch": view.public(), "codes": [status.public() for status in statuses]}


@bp.post("/api/codes/<batch_id>/disable")
@require_admin
async def disable(batch_id: str) -> dict[str, Any]:
    svc = services()
    return {"disabled": await codes_admin.disable_batch_audited(svc.store, actor(), batch_id, svc.clock())}
