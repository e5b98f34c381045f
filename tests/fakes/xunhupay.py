"""Loopback XunhuPay (虎皮椒): create, query, a cashier page and signed notify callbacks (PROTOCOLS.md section 1).

- `POST /payment/do.html` (form): checks the fields, the appid and the hash over every received field; answers
  `{"openid","url_qrcode","url","errcode":0,"errmsg","oderid","hash"}` signed with the app secret, or
  `{"errcode": 40029, "errmsg": "Invalid sign!"}`-style errors.
- `POST /payment/query.html` (form, `out_trade_order`): `{"errcode":0,"data":{"status","open_order_id",
  "transacton_id"},"errmsg","hash"}` (the misspelling is the real one); unknown order -> errcode 40025.
- `GET /qrcode?id=` a PNG (what `url_qrcode` points at); `GET /pay?id=` the cashier page a phone is sent to, whose
  button (`POST /pay/confirm?id=`) pays, sends the notify and redirects to the order's return_url.
API: `XunhuPayFake(appid=, secret=)`, `async with`, `.url`, `.settings_update()`, `.payments` (by trade_order_id:
the create fields, status, ids), `.created` (create forms), `.queries`, `await .pay(order_id, notify=True)`,
`.notify_fields(order_id, **overrides)` (signed unless `sign=False`), `await .send_notify(fields, url=None)` ->
(status, body text), `.refuse_next_create(errcode, errmsg)`.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import struct
import time
import zlib
from typing import Any

import httpx
from aiohttp import web
from pydantic import SecretStr

from core.billing.xunhupay import xunhu_hash
from tests.fakes._loopback import LoopbackApp

APPID = "20146123713"
SECRET = "6D7B025B8DD098C485F0805193136FB9"  # the documented test account's secret (PROTOCOLS.md vector)
CREATE_REQUIRED = ("version", "appid", "trade_order_id", "total_fee", "title", "time", "notify_url", "nonce_str")


def qr_png(seed: str, modules: int = 29, scale: int = 6) -> bytes:
    """A QR-looking black and white PNG (deterministic noise from `seed`), enough for a browser to render."""
    bits = b"".join(hashlib.sha256(f"{seed}:{n}".encode()).digest() for n in range(modules * modules // 32 + 1))
    size = modules * scale
    rows = []
    for y in range(size):
        row = bytes(0 if bits[(y // scale) * modules + x // scale] & 1 else 255 for x in range(size))
        rows.append(b"\x00" + row)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


class XunhuPayFake(LoopbackApp):
    def __init__(self, *, appid: str = APPID, secret: str = SECRET) -> None:
        super().__init__()
        self.appid = appid
        self.secret = secret
        self.payments: dict[str, dict[str, Any]] = {}
        self.created: list[dict[str, str]] = []
        self.queries: list[dict[str, str]] = []
        self._ids = itertools.count(20_000_001)
        self._refusal: tuple[int, str] | None = None

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/payment/do.html", self._create),
            web.post("/payment/query.html", self._query),
            web.get("/qrcode", self._qrcode),
            web.get("/pay", self._cashier),
            web.post("/pay/confirm", self._confirm),
        ]

    def settings_update(self) -> dict[str, Any]:
        return {"XUNHU_PAY_APPID": self.appid, "XUNHU_PAY_APPSECRET": SecretStr(self.secret),
                "XUNHU_PAY_GATEWAY": self.url}  # fmt: skip

    def refuse_next_create(self, errcode: int = 40029, errmsg: str = "Invalid sign!") -> None:
        self._refusal = (errcode, errmsg)

    def _signed(self, data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "hash": xunhu_hash({k: v for k, v in data.items() if not isinstance(v, dict)}, self.secret)}

    def _error(self, errcode: int, errmsg: str) -> web.Response:
        return web.json_response(self._signed({"errcode": errcode, "errmsg": errmsg}))

    async def _form(self, request: web.Request) -> dict[str, str]:
        return {key: str(value) for key, value in (await request.post()).items()}

    def _check(self, form: dict[str, str], required: tuple[str, ...]) -> web.Response | None:
        missing = [name for name in required if not form.get(name)]
        if missing:
            return self._error(40001, f"missing {missing[0]}")
        if form.get("appid") != self.appid:
            return self._error(40002, "invalid appid")
        if form.get("hash") != xunhu_hash(form, self.secret):
            return self._error(40029, "Invalid sign!")
        return None

    async def _create(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        refused = self._check(form, CREATE_REQUIRED)
        if refused is not None:
            return refused
        if self._refusal is not None:
            errcode, errmsg = self._refusal
            self._refusal = None
            return self._error(errcode, errmsg)
        order_id = form["trade_order_id"]
        if len(order_id) > 32 or len(form["title"]) > 127 or len(form["notify_url"]) > 128:
            return self._error(40003, "invalid field length")
        if order_id in self.payments:
            return self._error(40005, "duplicate trade_order_id")
        self.created.append(form)
        open_id = next(self._ids)
        self.payments[order_id] = {"form": form, "status": "WP", "open_order_id": str(open_id),
                                   "transaction_id": f"4200{open_id}"}  # fmt: skip
        body = {"openid": open_id, "url_qrcode": f"{self.url}/qrcode?id={open_id}", "errcode": 0,
                "url": f"{self.url}/pay?id={order_id}", "errmsg": "success!", "oderid": open_id}  # fmt: skip
        return web.json_response(self._signed(body))

    async def _query(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        refused = self._check(form, ("appid", "out_trade_order", "time", "nonce_str"))
        if refused is not None:
            return refused
        self.queries.append(form)
        payment = self.payments.get(form["out_trade_order"])
        if payment is None:
            return self._error(40025, "order not found")
        data = {"status": payment["status"], "open_order_id": payment["open_order_id"],
                "transacton_id": payment["transaction_id"] if payment["status"] == "OD" else ""}  # fmt: skip
        return web.json_response(self._signed({"errcode": 0, "data": data, "errmsg": "success!"}))

    async def _qrcode(self, request: web.Request) -> web.Response:
        return web.Response(body=qr_png(request.query.get("id", "")), content_type="image/png")

    async def _cashier(self, request: web.Request) -> web.Response:
        order_id = request.query.get("id", "")
        payment = self.payments.get(order_id)
        if payment is None:
            return web.Response(status=404, text="no such order")
        amount = html.escape(payment["form"]["total_fee"])
        page = (f"<!doctype html><meta name=viewport content='width=device-width'><title>虎皮椒收银台</title>"
                f"<h1>收银台</h1><p id=amount>¥{amount}</p><form method=post action='/pay/confirm?id="
                f"{html.escape(order_id)}'><button id=pay type=submit>确认支付</button></form>")  # fmt: skip
        return web.Response(text=page, content_type="text/html")

    async def _confirm(self, request: web.Request) -> web.Response:
        order_id = request.query.get("id", "")
        if order_id not in self.payments:
            return web.Response(status=404, text="no such order")
        await self.pay(order_id)
        raise web.HTTPFound(self.payments[order_id]["form"].get("return_url") or "/")

    def notify_fields(self, order_id: str, *, sign: bool = True, **overrides: str) -> dict[str, str]:
        """The form XunhuPay posts to notify_url for a paid order (override any field; signed after overrides)."""
        payment = self.payments[order_id]
        form = payment["form"]
        fields = {
            "trade_order_id": order_id, "total_fee": form["total_fee"], "transaction_id": payment["transaction_id"],
            "open_order_id": payment["open_order_id"], "order_title": form["title"], "status": "OD",
            "plugins": form.get("plugins", ""), "attach": form.get("attach", ""), "appid": self.appid,
            "time": str(int(time.time())), "nonce_str": hashlib.md5(order_id.encode()).hexdigest()[:16],
        }  # fmt: skip
        fields.update(overrides)
        if sign:
            fields["hash"] = xunhu_hash(fields, self.secret)
        return fields

    async def send_notify(self, fields: dict[str, str], url: str | None = None) -> tuple[int, str]:
        """POST a notify form (to the order's notify_url unless `url`) and return the status and body."""
        target = url or self.payments[fields["trade_order_id"]]["form"]["notify_url"]
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(target, data=fields)
        return response.status_code, response.text

    async def pay(self, order_id: str, *, notify: bool = True) -> tuple[int, str] | None:
        """Mark an order paid (OD) as the payer would; send its notify unless `notify=False` (a lost callback)."""
        self.payments[order_id]["status"] = "OD"
        return await self.send_notify(self.notify_fields(order_id)) if notify else None
