"""Moderation API (issue 11, item 8): the policy (providers in order, fail open/closed, the keyword list) and the
blocked-items log."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StrictBool, StringConstraints
from quart import Blueprint, request

from admin.auth import actor, require_admin
from core.moderation import get_words
from core.moderation.config import PROVIDER_NAMES, moderation_config, update_moderation
from core.moderation.keywords import MAX_WORDS
from core.moderation.log import list_blocks
from web.context import services
from web.validation import Body, parse_body

bp = Blueprint("admin_moderation", __name__)

Word = Annotated[str, StringConstraints(max_length=200)]


class Policy(Body):
    providers: list[Annotated[str, StringConstraints(max_length=20)]] | None = None
    fail_open: StrictBool | None = None
    words: list[Word] | None = None


async def _policy() -> dict[str, Any]:
    svc = services()
    config = await moderation_config(svc.store, svc.settings)
    available = [
        {"name": name, "missing": svc.moderation.missing_settings(name)} for name in PROVIDER_NAMES
    ]  # fmt: skip
    return {**config.public(), "words": await get_words(svc.store), "available": available, "max_words": MAX_WORDS}


@bp.get("/api/moderation")
@require_admin
async def policy() -> dict[str, Any]:
    return await _policy()


@bp.put("/api/moderation")
@require_admin
async def update() -> dict[str, Any]:
    body = await parse_body(Policy)
    svc = services()
    await update_moderation(
        svc.moderation, actor(), providers=body.providers, fail_open=body.fail_open, words=body.words,
        now=svc.clock(),
    )  # fmt: skip
    return await _policy()


@bp.get("/api/moderation/log")
@require_admin
async def log() -> dict[str, Any]:
    records, next_cursor = await list_blocks(services().store, request.args.get("cursor") or None)
    return {
        "entries": [
            {"id": r.id, "time": r.time, "user_id": r.user_id, "channel": r.channel, "direction": r.direction,
             "provider": r.provider, "label": r.label, "words": list(r.words), "excerpt": r.excerpt}
            for r in records
        ],
        "next_cursor": next_cursor,
    }  # fmt: skip
