"""Loopback Elastic Email v2: `POST /v2/email/send`, form fields, ALWAYS HTTP 200 (PROTOCOLS.md section 4).

Wrong apikey -> `{"success": false, "error": "Incorrect apikey"}`; unverified sender or missing recipient ->
`success: false` too; accepted -> `{"success": true, "data": {"transactionid", "messageid"}}`.
`GET|POST /v2/account/load` (what the doctor reads) -> `{"success": true, "data": {account, its apikey included}}`,
or the same `Incorrect apikey` failure.
API: `ElasticFake(api_key=..., sender=...)`, `async with`, `.url`, `.messages`, `.last_to(addr)`, `.code_for(addr)`,
`.account_loads` (account/load calls answered with success).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from tests.fakes._loopback import LoopbackApp, extract_code

DEFAULT_KEY = "ELASTIC-0123456789ABCDEF0123456789ABCDEF"
FIELDS = ("from", "fromName", "to", "subject", "bodyText", "bodyHtml", "isTransactional")


class ElasticFake(LoopbackApp):
    def __init__(self, *, api_key: str = DEFAULT_KEY, sender: str = "noreply@chatgate.test") -> None:
        super().__init__()
        self.api_key = api_key
        self.sender = sender
        self.account_loads = 0

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v2/email/send", self._send),
            web.get("/v2/account/load", self._account),
            web.post("/v2/account/load", self._account),
        ]

    def settings_update(self) -> dict[str, Any]:
        return {
            "NEXT_PUBLIC_EMAIL_SERVICE": "elastic",
            "ELASTIC_EMAIL_API_BASE": self.url,
            "ELASTICE_EMAIL_API_KEY": SecretStr(self.api_key),
            "ELASTICE_EMAIL_SENDER": self.sender,
        }

    def last_to(self, address: str) -> dict[str, Any]:
        """Return the last accepted message whose `to` is `address`."""
        for message in reversed(self.messages):
            if message["to"].lower() == address.lower():
                return message
        raise AssertionError(f"no message to {address}")

    def code_for(self, address: str) -> str:
        return extract_code(self.last_to(address)["bodyText"])

    @staticmethod
    def _failure(error: str) -> web.Response:
        return web.json_response({"success": False, "error": error})

    async def _send(self, request: web.Request) -> web.Response:
        # v2 takes its parameters from the query string or the form body alike.
        params = {**request.query, **(await request.post())}
        if params.get("apikey") != self.api_key:
            return self._failure("Incorrect apikey")
        if str(params.get("from", "")).lower() != self.sender.lower():
            return self._failure(f"Unable to send e-mail: sender {params.get('from')!r} is not verified.")
        if not params.get("to"):
            return self._failure("No recipient specified.")
        if not (params.get("bodyText") or params.get("bodyHtml")):
            return self._failure("Message body is empty.")
        self.messages.append({field: str(params.get(field, "")) for field in FIELDS})
        data = {"transactionid": str(uuid.uuid4()), "messageid": secrets.token_urlsafe(16)}
        return web.json_response({"success": True, "data": data})

    async def _account(self, request: web.Request) -> web.Response:
        params = {**request.query, **(await request.post())}
        if params.get("apikey") != self.api_key:
            return self._failure("Incorrect apikey")
        self.account_loads += 1
        account = {
            "apikey": self.api_key,  # the real answer carries the key: a client must never log this body
            "email": self.sender,
            "publicaccountid": "0f6a2c8e-3b1d-4c5e-9a7f-1b2c3d4e5f60",
            "accounttype": 1,
            "status": 1,
            "statusformatted": "Active",
            "credit": 0.0,
            "requiresemailcredits": False,
            "dailysendlimit": 1000,
        }
        return web.json_response({"success": True, "data": account})
