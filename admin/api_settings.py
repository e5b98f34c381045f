"""Site settings API (issue 11, item 9): title, WeChat account name, registration, default language, invitation
rewards. Secrets stay in the environment: the page says which are set, never their values."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from admin.auth import actor, require_admin
from core.site.config import secret_status, site_config, update_site_config
from web.context import services
from web.validation import parse_object

bp = Blueprint("admin_settings", __name__)


async def _settings() -> dict[str, Any]:
    svc = services()
    site = await site_config(svc.store, svc.settings)
    return {"settings": site.public(), "secrets": secret_status(svc.settings)}


@bp.get("/api/settings")
@require_admin
async def settings() -> dict[str, Any]:
    return await _settings()


@bp.put("/api/settings")
@require_admin
async def update() -> dict[str, Any]:
    svc = services()
    await update_site_config(svc.store, svc.settings, actor(), await parse_object(), svc.clock())
    return await _settings()
