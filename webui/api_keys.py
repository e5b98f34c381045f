"""Personal API keys on the account page: create (the secret is shown once), list, revoke.

Only a signed-in session manages keys (`require_user` refuses API keys): a leaked key cannot mint more keys or revoke
the owner's others.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, g

from core.accounts.api_keys import create_api_key, list_api_keys, revoke_api_key
from web.context import services
from web.validation import Body, parse_body
from webui.auth import require_user

bp = Blueprint("api_keys", __name__)


class NewKey(Body):
    name: str


@bp.post("/api/keys")
@require_user
async def create() -> tuple[dict[str, Any], int]:
    body = await parse_body(NewKey)
    svc = services()
    meta, plaintext = await create_api_key(svc.store, g.user.id, body.name, svc.clock())
    return {"key": plaintext, **meta.public()}, 201


@bp.get("/api/keys")
@require_user
async def list_all() -> dict[str, Any]:
    return {"keys": [meta.public() for meta in await list_api_keys(services().store, g.user.id)]}


@bp.delete("/api/keys/<key_id>")
@require_user
async def revoke(key_id: str) -> dict[str, Any]:
    await revoke_api_key(services().store, g.user.id, key_id)
    return {"ok": True}
