"""Orders (docs/API.md "Orders and payments"): open one with its XunhuPay payment, list them, read one, its QR code.

`POST /api/orders {"plan","cycle"}` -> 201 `{"order_id","amount","status","pay_url","qr_url", ...}`; phones (by
User-Agent) get a `type=WAP` payment and `"wap": true`, so the page sends them to `pay_url`; desktops show the QR.
An order is its owner's only: anyone else gets 404. Orders need a session (an API key cannot buy).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import httpx
from pydantic import StringConstraints
from quart import Blueprint, Response, g, jsonify, request

from core.billing.orders import Order, list_orders, require_order
from core.billing.payments import open_order
from core.billing.purchases import current_term, preview_purchase, price_of
from core.days import iso_utc
from core.errors import Forbidden, NotFound, PaymentFailed
from web.context import services
from web.i18n import request_language
from web.requests import public_base_url
from web.validation import Body, parse_body
from webui.auth import require_user

bp = Blueprint("api_orders", __name__)

PHONE_AGENT = re.compile(r"Mobile|Android|iPhone|iPad|iPod|HarmonyOS|MicroMessenger|Windows Phone", re.IGNORECASE)
MAX_QR_BYTES = 512 * 1024


class OrderRequest(Body):
    plan: Annotated[str, StringConstraints(max_length=32)]
    cycle: Annotated[str, StringConstraints(max_length=16)]


def is_phone(user_agent: str) -> bool:
    """Phones (and tablets, and WeChat's browser) pay on the gateway's page (`type=WAP`), desktops by QR code."""
    return bool(PHONE_AGENT.search(user_agent))


def _session_only() -> None:
    if g.get("auth_kind") == "api_key":
        raise Forbidden("Sign in on the web to buy a plan; API keys cannot.")


async def _current(user_id: int) -> dict[str, Any]:
    """What the user has now: the plan and when it ends (shown once an order is paid)."""
    svc = services()
    term = await current_term(svc.store, user_id, svc.clock())
    return {"plan": term.plan, "plan_expires_at": iso_utc(term.ends_at)}


@bp.post("/api/orders")
@require_user
async def create() -> tuple[Response, int]:
    _session_only()
    body = await parse_body(OrderRequest)
    svc = services()
    order = await open_order(
        svc.store, svc.settings, svc.http, g.user.id, body.plan, body.cycle,
        wap=is_phone(request.headers.get("User-Agent", "")), lang=request_language(), now=svc.clock(),
        site_url=public_base_url(),
    )  # fmt: skip
    return jsonify(order.public()), 201


@bp.get("/api/orders/preview")
@require_user
async def preview() -> dict[str, Any]:
    """What buying `?plan=&cycle=` now would give (mode, starts_at, ends_at): the pricing page shows it first."""
    svc = services()
    price = await price_of(
        svc.store, svc.settings, request.args.get("plan", "")[:32], request.args.get("cycle", "")[:16]
    )
    grant = await preview_purchase(svc.store, svc.settings, g.user.id, price, svc.clock())
    return {"plan": price.plan.name, "cycle": price.cycle, "amount": price.amount, "mode": grant.mode,
            "starts_at": grant.subscription.starts_at, "ends_at": grant.subscription.ends_at}  # fmt: skip


@bp.get("/api/orders")
@require_user
async def list_own() -> dict[str, Any]:
    return {"orders": [order.public() for order in await list_orders(services().store, g.user.id)]}


async def _own(order_id: str) -> Order:
    return await require_order(services().store, g.user.id, order_id[:64])


@bp.get("/api/orders/<order_id>")
@require_user
async def read(order_id: str) -> dict[str, Any]:
    """One order of the caller (404 for anyone else's); a paid one says what the account has now."""
    order = await _own(order_id)
    data = order.public()
    if order.status == "paid":
        data["current"] = await _current(g.user.id)
    return data


@bp.get("/api/orders/<order_id>/qr")
@require_user
async def qr_image(order_id: str) -> Response:
    """The order's QR code image, fetched from the gateway's `url_qrcode` (the page's CSP loads images only from
    this site, and the payer's browser never talks to the gateway)."""
    order = await _own(order_id)
    if not order.qr_url.startswith(("https://", "http://")) or order.status != "pending":
        raise NotFound("This order has no QR code to show.")
    try:
        answer = await services().http.get(order.qr_url, timeout=10.0)
    except httpx.HTTPError as exc:
        raise PaymentFailed() from exc
    kind = answer.headers.get("Content-Type", "")
    if answer.status_code != 200 or not kind.startswith("image/") or len(answer.content) > MAX_QR_BYTES:
        raise PaymentFailed()
    response = Response(answer.content, content_type=kind)
    response.headers["Cache-Control"] = "private, max-age=600"
    return response
