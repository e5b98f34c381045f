"""Prompt presets (reusable system prompts) and the site announcement (`GET /api/notice`)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, g

from core.chat.presets import delete_preset, list_presets, save_preset
from core.site.notice import mark_notice_seen, notice_for
from web.context import services
from web.validation import Body, parse_body
from webui.auth import require_user

bp = Blueprint("api_presets", __name__)


class PresetBody(Body):
    name: str
    prompt: str


@bp.get("/api/presets")
@require_user
async def list_all() -> dict[str, Any]:
    return {"presets": [preset.public() for preset in await list_presets(services().store, g.user.id)]}


@bp.post("/api/presets")
@require_user
async def create() -> tuple[dict[str, Any], int]:
    body = await parse_body(PresetBody)
    svc = services()
    preset = await save_preset(svc.store, g.user.id, body.name, body.prompt, now=svc.clock())
    return preset.public(), 201


@bp.put("/api/presets/<preset_id>")
@require_user
async def update(preset_id: str) -> dict[str, Any]:
    body = await parse_body(PresetBody)
    svc = services()
    preset = await save_preset(svc.store, g.user.id, body.name, body.prompt, preset_id=preset_id, now=svc.clock())
    return preset.public()


@bp.delete("/api/presets/<preset_id>")
@require_user
async def delete(preset_id: str) -> dict[str, Any]:
    await delete_preset(services().store, g.user.id, preset_id)
    return {"ok": True}


@bp.get("/api/notice")
@require_user
async def notice() -> dict[str, Any]:
    current, seen = await notice_for(services().store, g.user.id)
    return {**current.public(), "seen": seen} if current else {}


class NoticeSeen(Body):
    version: int


@bp.post("/api/notice/seen")
@require_user
async def notice_seen() -> dict[str, Any]:
    body = await parse_body(NoticeSeen)
    await mark_notice_seen(services().store, g.user.id, body.version)
    return {"ok": True}
