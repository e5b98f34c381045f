"""XunhuPay (虎皮椒): the wire protocol (shared/docs/PROTOCOLS.md section 1) — the hash, creating a payment,
querying one, and checking a notify callback. Money crosses this boundary as yuan strings; inside it is fen.

hash = md5(k1=v1&k2=v2...APPSECRET) over every field but `hash`, values that are None or '' left out ("0" is
kept), keys sorted by ASCII, raw values (not URL-encoded), lowercase hex. We sign the exact strings we send.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from core.errors import PaymentFailed, PaymentsDisabled
from core.settings import Settings

log = logging.getLogger(__name__)

NOTIFY_PATH = "/api/pay/xunhu/notify"
RETURN_PATH = "/pay/return"
REQUIRED_NOTIFY_FIELDS = ("trade_order_id", "total_fee", "status", "appid", "hash")
MAX_TITLE_CHARS = 127
# Emoji and other astral characters are refused by the gateway; backslashes are stripped by its signer (PHP
# stripslashes), so a title with one would never verify.
_UNSENDABLE = re.compile(r"[^\u0000-\uffff]|\\")


def xunhu_hash(fields: Mapping[str, Any], secret: str) -> str:
    """Return the XunhuPay hash of `fields` with the app secret."""
    pairs = sorted((key, str(value)) for key, value in fields.items()
                   if key != "hash" and value is not None and str(value) != "")  # fmt: skip
    text = "&".join(f"{key}={value}" for key, value in pairs) + secret
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def hash_matches(fields: Mapping[str, Any], secret: str) -> bool:
    """Check the `hash` field of what XunhuPay sent (constant-time)."""
    sent = str(fields.get("hash") or "")
    return bool(sent) and hmac.compare_digest(sent.lower().encode(), xunhu_hash(fields, secret).encode())


def fen_to_yuan(fen: int) -> str:
    """Format integer fen as the decimal yuan string sent as total_fee (2990 -> "29.90")."""
    return f"{fen // 100}.{fen % 100:02d}"


def yuan_to_fen(text: str) -> int | None:
    """Read a total_fee back into fen; None when it is not an amount in whole fen."""
    try:
        amount = Decimal(text.strip()) * 100
    except (InvalidOperation, AttributeError):
        return None
    if not amount.is_finite() or amount != amount.to_integral_value() or amount < 0:
        return None
    return int(amount)


def _secret(settings: Settings) -> str:
    if not settings.payments_enabled:
        raise PaymentsDisabled()
    return settings.XUNHU_PAY_APPSECRET.get_secret_value()


def payment_title(site: str, plan_title: str, days: int, lang: str) -> str:
    """The order title the payer sees: no emoji, at most 127 characters."""
    text = f"{site} {plan_title} {days}天" if lang == "zh-CN" else f"{site} {plan_title} {days} days"
    return _UNSENDABLE.sub("", text).strip()[:MAX_TITLE_CHARS]


@dataclass(frozen=True)
class PaymentLinks:
    """A created payment: `pay_url` to open on a phone, `qr_url` the QR image for desktop, the gateway's id."""

    pay_url: str
    qr_url: str
    open_order_id: str


@dataclass(frozen=True)
class PaymentStatus:
    """What a query says: OD paid, WP waiting, CD cancelled."""

    status: str
    transaction_id: str
    open_order_id: str


async def _post(http: httpx.AsyncClient, settings: Settings, path: str, fields: dict[str, str]) -> dict[str, Any]:
    fields["hash"] = xunhu_hash(fields, _secret(settings))
    try:
        response = await http.post(f"{settings.XUNHU_PAY_GATEWAY}{path}", data=fields, timeout=15.0)
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("XunhuPay %s failed: %s", path, type(exc).__name__)
        raise PaymentFailed() from exc
    if not isinstance(data, dict):
        raise PaymentFailed()
    if str(data.get("errcode")) != "0":
        log.warning("XunhuPay %s refused: errcode %s, %s", path, data.get("errcode"), data.get("errmsg"))
        raise PaymentFailed(gateway_error=str(data.get("errmsg") or data.get("errcode"))[:200])
    return data


async def create_payment(
    http: httpx.AsyncClient, settings: Settings, *, order_id: str, amount: int, title: str, wap: bool, now: float,
    site_url: str = "",
) -> PaymentLinks:  # fmt: skip
    """Create the gateway payment of an order (`type=WAP` for phones); PaymentFailed when it is refused.

    The return address is on `site_url` (DOMAIN, else where the buyer came from), the notify address on
    CALLBACK_DOMAIN, else the same site.
    """
    site = site_url or settings.DOMAIN
    fields = {
        "version": "1.1", "appid": settings.XUNHU_PAY_APPID, "trade_order_id": order_id,
        "total_fee": fen_to_yuan(amount), "title": title, "time": str(int(now)),
        "notify_url": f"{settings.CALLBACK_DOMAIN or site}{NOTIFY_PATH}",
        "return_url": f"{site}{RETURN_PATH}?order={order_id}",
        "callback_url": f"{site}/pricing", "nonce_str": secrets.token_hex(12),
    }  # fmt: skip
    if wap:
        fields.update(type="WAP", wap_url=site, wap_name=settings.NEXT_PUBLIC_TITLE[:32])
    data = await _post(http, settings, "/payment/do.html", fields)
    if not hash_matches(data, _secret(settings)):
        log.warning("XunhuPay create answer for %s has a wrong hash", order_id)
        raise PaymentFailed()
    return PaymentLinks(pay_url=str(data.get("url") or ""), qr_url=str(data.get("url_qrcode") or ""),
                        open_order_id=str(data.get("oderid") or data.get("openid") or ""))  # fmt: skip


async def query_payment(http: httpx.AsyncClient, settings: Settings, order_id: str, now: float) -> PaymentStatus:
    """Ask the gateway about an order (reconciliation). The answer's `data` object is trusted as read over TLS:
    the protocol does not say how a nested object would be signed, and the official demo does not check it."""
    fields = {"appid": settings.XUNHU_PAY_APPID, "out_trade_order": order_id, "time": str(int(now)),
              "nonce_str": secrets.token_hex(12)}  # fmt: skip
    data = await _post(http, settings, "/payment/query.html", fields)
    info = data.get("data")
    if not isinstance(info, dict):
        raise PaymentFailed()
    return PaymentStatus(
        status=str(info.get("status") or ""),
        transaction_id=str(info.get("transaction_id") or info.get("transacton_id") or ""),  # sic, both spellings
        open_order_id=str(info.get("open_order_id") or ""),
    )


def notify_problem(fields: Mapping[str, str], settings: Settings) -> str | None:
    """Say why a notify callback must not credit anything (its verdict), or None when it may.

    Checked in this order: the fields are there, the hash over every received field, our appid, status OD, an
    amount in whole fen. The amount against the order is checked where the order is read (atomically).
    """
    if any(not fields.get(name) for name in REQUIRED_NOTIFY_FIELDS):
        return "missing_fields"
    if not hash_matches(fields, _secret(settings)):
        return "bad_hash"
    if not hmac.compare_digest(fields["appid"].encode(), settings.XUNHU_PAY_APPID.encode()):
        return "wrong_appid"
    if fields["status"] != "OD":
        return f"status_{fields['status'][:8]}"
    if yuan_to_fen(fields["total_fee"]) is None:
        return "bad_amount"
    return None
