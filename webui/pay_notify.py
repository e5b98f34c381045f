"""XunhuPay's notify callback: `POST /api/pay/xunhu/notify` (form-encoded, as XunhuPay sends it).

Verified and credited in core (core.billing.payments.handle_notify: the hash over every received field, the appid,
status OD, the amount against the order, one atomic credit however many callbacks arrive). The answer is the literal
`success` for a credited or already-credited order (XunhuPay stops retrying), `fail` otherwise.
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from core.billing.payments import handle_notify
from web.context import services
from web.requests import client_ip

bp = Blueprint("pay_notify", __name__)


@bp.post("/api/pay/xunhu/notify")
async def xunhu_notify() -> Response:
    form = await request.form
    fields = {str(name): str(value) for name, value in form.items()}  # the first value of each field
    svc = services()
    credit = await handle_notify(svc.store, svc.settings, fields, ip=client_ip(), now=svc.clock(), metrics=svc.metrics)
    status = 200 if credit.ok else 503 if credit.verdict == "payments_disabled" else 400
    return Response("success" if credit.ok else "fail", status=status, content_type="text/plain; charset=utf-8")
