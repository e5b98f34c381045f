"""`POST /v1/embeddings` and `POST /v1/moderations`: relayed to the upstreams of models that serve them, behind the
same key, plan and quota (core.chat.endpoints); the upstream's JSON answer is returned as it is."""

from __future__ import annotations

from quart import Blueprint, Response, g

from core.chat.endpoints import Relayed, relay_embeddings, relay_moderations
from web.context import services
from webui.auth import allow_api_keys
from webui.v1_http import install_error_handlers, json_body, rate_headers

bp = Blueprint("v1_endpoints", __name__)
install_error_handlers(bp)


def _answer(done: Relayed) -> Response:
    return rate_headers(Response(done.body, content_type="application/json"), done.rate)


@bp.post("/v1/embeddings")
@allow_api_keys
async def embeddings() -> Response:
    return _answer(await relay_embeddings(services(), g.user, await json_body(), plan=g.get("plan")))


@bp.post("/v1/moderations")
@allow_api_keys
async def moderations() -> Response:
    return _answer(await relay_moderations(services(), g.user, await json_body(), plan=g.get("plan")))
