"""Health endpoints on both apps, for load balancers and orchestrators.

`GET /healthz`: the process is up and serving (no store access), with its pid so one can tell workers apart.
`GET /readyz`: the store answers within a second: 200, else 503 `store_unavailable` (take this process out of the
rotation until the store is back; it recovers by itself).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from quart import Blueprint, Response, jsonify

from web.context import services
from web.errors import error_body

READY_TIMEOUT_SECONDS = 1.0

bp = Blueprint("health", __name__)


@bp.get("/healthz")
async def healthz() -> dict[str, Any]:
    return {"status": "ok", "pid": os.getpid()}


@bp.get("/readyz")
async def readyz() -> tuple[Response, int]:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await services().store.redis.ping()
    except Exception:
        return jsonify(error_body("store_unavailable", "The store does not answer.")), 503
    return jsonify({"status": "ready", "pid": os.getpid()}), 200
