"""Models and upstreams API (issue 11, item 7): audited changes; keys entered once and masked after; a test call."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StringConstraints
from quart import Blueprint

from admin.auth import actor, require_admin
from core.relay import catalogue_admin
from core.relay.catalogue import list_models
from web.context import services
from web.validation import Body, parse_body, parse_object

bp = Blueprint("admin_catalogue", __name__)


class UpstreamTest(Body):
    model: Annotated[str, StringConstraints(max_length=100)] | None = None


@bp.get("/api/models")
@require_admin
async def models() -> dict[str, Any]:
    return {"models": [model.stored() for model in await list_models(services().store)]}


@bp.post("/api/models")
@require_admin
async def create_model() -> tuple[dict[str, Any], int]:
    svc = services()
    model = await catalogue_admin.create_model(svc.store, actor(), await parse_object(), svc.clock())
    return model.stored(), 201


@bp.put("/api/models/<path:model_id>")
@require_admin
async def update_model(model_id: str) -> dict[str, Any]:
    svc = services()
    return (
        await catalogue_admin.update_model(svc.store, actor(), model_id, await parse_object(), svc.clock())
    ).stored()


@bp.delete("/api/models/<path:model_id>")
@require_admin
async def delete_model(model_id: str) -> dict[str, Any]:
    svc = services()
    await catalogue_admin.remove_model(svc.store, actor(), model_id, svc.clock())
    return {"ok": True}


@bp.get("/api/upstreams")
@require_admin
async def upstreams() -> dict[str, Any]:
    svc = services()
    return {"upstreams": await catalogue_admin.upstreams_overview(svc.store, svc.clock())}


@bp.post("/api/upstreams")
@require_admin
async def create_upstream() -> tuple[dict[str, Any], int]:
    svc = services()
    upstream = await catalogue_admin.create_upstream(svc.store, actor(), await parse_object(), svc.clock())
    return upstream.public(), 201


@bp.put("/api/upstreams/<upstream_id>")
@require_admin
async def update_upstream(upstream_id: str) -> dict[str, Any]:
    svc = services()
    body = await parse_object()
    return (await catalogue_admin.update_upstream(svc.store, actor(), upstream_id, body, svc.clock())).public()


@bp.delete("/api/upstreams/<upstream_id>")
@require_admin
async def delete_upstream(upstream_id: str) -> dict[str, Any]:
    svc = services()
    await catalogue_admin.remove_upstream(svc.store, actor(), upstream_id, svc.clock())
    return {"ok": True}


@bp.post("/api/upstreams/<upstream_id>/test")
@require_admin
async def test_upstream(upstream_id: str) -> dict[str, Any]:
    body = await parse_body(UpstreamTest)
    svc = services()
    check = await catalogue_admin.try_upstream(svc.store, svc.settings, upstream_id, body.model)
    return {"ok": check.ok, "latency_ms": check.latency_ms, "error": check.error}
