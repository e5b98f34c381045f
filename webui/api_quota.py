"""The user's models with their quota (`GET /api/models`) and spending a reset chance (`POST /api/quota/reset`)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, g

from core.billing.quotas import QuotaStatus, quota_status, use_reset_chance
from core.billing.subscriptions import current_plan
from core.relay.catalogue import Model, list_models
from web.context import services
from webui.auth import allow_api_keys, require_user

bp = Blueprint("api_quota", __name__)


def _model_entry(model: Model, status: QuotaStatus | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": model.id, "name": model.name, "context_window": model.context_window, "input_types": model.input_types,
    }  # fmt: skip
    if status is None:
        # Listed so the UI can show what a better plan unlocks; not usable on this plan.
        return {**entry, "allowed": False, "limit": 0, "remaining": 0, "window": None, "resets_in": 0}
    return {
        **entry,
        "allowed": True,
        "limit": status.limit,
        "remaining": status.remaining,
        "window": status.window,
        "resets_in": status.resets_in,
    }


@bp.get("/api/models")
@allow_api_keys
async def models() -> dict[str, Any]:
    svc = services()
    now = svc.clock()
    plan = await current_plan(svc.store, g.user.id, now)
    statuses = await quota_status(svc.store, g.user.id, plan, now)
    return {
        "models": [
            _model_entry(model, statuses.get(model.id))
            for model in await list_models(svc.store)
            if model.enabled and model.chats  # the chat's choices; embedding and moderation models serve /v1 only
        ],
        "plan": {"name": plan.name, "title": plan.title},
        "reset_chances": g.user.reset_chances,
    }


@bp.post("/api/quota/reset")
@require_user
async def reset_quota() -> dict[str, Any]:
    svc = services()
    plan = await current_plan(svc.store, g.user.id, svc.clock())
    return {"reset_chances": await use_reset_chance(svc.store, g.user.id, plan)}
