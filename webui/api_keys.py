"""Personal API keys on the account page: create (the secret is shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, g

from core.accounts.api_keys import create_api_key, list_api_keys, revoke_api_key
from core.errors import Forbidden
from web.context import services
from web.validation import Body, parse_body
from webui.auth import require_user

bp = Blueprint("api_keys", __name__)


class NewKey(Body):
    name: str


def _require_session() -> None:
    # A leaked key must not be able to mint more keys or revoke the owner's others.
    if g.get("auth_kind") == "api_key":
        raise Forbidden("API keys are managed from a signed-in session, not with an API key.")


@bp.post("/api/keys")
@require_user
async def create() -> tuple[dict[str, Any], int]:
    _require_session()
    body = await parse_body(NewKey)
    svc = services()
    meta, plaintext = await create_api_key(svc.store, g.user.id, body.name, svc.clock())
    return {"key": plaintext, **meta.public()}, 201


@bp.get("/api/keys")
@require_user
async def list_all() -> dict[str, Any]:
    _require_session()
    return {"keys": [meta.public() for meta in await list_api_keys(services().store, g.user.id)]}


@bp.delete("/api/keys/<key_id>")
@require_user
async def revoke(key_id: str) -> dict[str, Any]:
    _require_session()
    await revoke_api_key(services().store, g.user.id, key_id)
    return {"ok": True}
