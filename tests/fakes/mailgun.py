"""Loopback Mailgun: `POST /v3/{domain}/messages` with Basic auth `api:<key>` (PROTOCOLS.md section 4).

Wrong key -> 401 with the plain-text body `Forbidden`; unknown domain -> 404 JSON; a missing field -> 400 JSON;
accepted -> 200 `{"id", "message": "Queued. Thank you."}` and the form lands in `.messages`.
`GET /v3/domains/{domain}` (what the doctor reads) answers the same 401 / 404 `{"message": "Domain not found"}`, or
200 `{"domain": {..., "name", "state", "is_disabled"}, "receiving_dns_records", "sending_dns_records"}`.
API: `MailgunFake(api_key=..., domain=...)`, `async with`, `.url`, `.messages`, `.last_to(addr)`, `.code_for(addr)`,
`.state` ("active" | "unverified" | "disabled"), `.domain_reads` (GET /v3/domains calls answered 200).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from aiohttp import BasicAuth, web
from pydantic import SecretStr

from tests.fakes._loopback import LoopbackApp, extract_code

DEFAULT_KEY = "key-0123456789abcdef0123456789abcdef"


class MailgunFake(LoopbackApp):
    def __init__(self, *, api_key: str = DEFAULT_KEY, domain: str = "mg.chatgate.test") -> None:
        super().__init__()
        self.api_key = api_key
        self.domain = domain
        self._ids = itertools.count(1)
        self.state = "active"
        self.domain_reads = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v3/{domain}/messages", self._send), web.get("/v3/domains/{domain}", self._domain)]

    def settings_update(self) -> dict[str, Any]:
        return {
            "NEXT_PUBLIC_EMAIL_SERVICE": "mailgun",
            "MAILGUN_API_BASE": self.url,
            "MAILGUN_EMAIL_DOMAIN": self.domain,
            "MAILGUN_EMAIL_API_KEY": SecretStr(self.api_key),
        }

    def last_to(self, address: str) -> dict[str, Any]:
        """Return the last accepted message whose `to` is `address`."""
        for message in reversed(self.messages):
            if message["to"].lower() == address.lower():
                return message
        raise AssertionError(f"no message to {address}")

    def code_for(self, address: str) -> str:
        return extract_code(self.last_to(address)["text"])

    def _authorized(self, request: web.Request) -> bool:
        try:
            auth = BasicAuth.decode(request.headers.get("Authorization", ""))
        except ValueError:
            return False
        return auth.login == "api" and auth.password == self.api_key

    async def _send(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=401, text="Forbidden")
        domain = request.match_info["domain"]
        if domain != self.domain:
            return web.json_response({"message": f"Domain not found: {domain}"}, status=404)
        form = await request.post()
        for field in ("from", "to", "subject"):
            if not form.get(field):
                return web.json_response({"message": f"'{field}' parameter is missing"}, status=400)
        if not any(form.get(field) for field in ("text", "html", "template")):
            message = "Need at least one of 'text', 'html' or 'template' parameters specified"
            return web.json_response({"message": message}, status=400)
        message_id = f"<{time.strftime('%Y%m%d%H%M%S')}.{next(self._ids)}@{domain}>"
        fields = ("from", "to", "subject", "text", "html")
        self.messages.append({"id": message_id, **{field: str(form.get(field, "")) for field in fields}})
        return web.json_response({"id": message_id, "message": "Queued. Thank you."})

    async def _domain(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=401, text="Forbidden")
        if request.match_info["domain"] != self.domain:
            return web.json_response({"message": "Domain not found"}, status=404)
        self.domain_reads += 1
        details = {
            "created_at": "Thu, 13 Oct 2011 18:02:00 GMT",
            "id": "5d1a1ab1e4b0a1b2c3d4e5f6",
            "is_disabled": self.state == "disabled",
            "name": self.domain,
            "require_tls": False,
            "skip_verification": False,
            "smtp_login": f"postmaster@{self.domain}",
            "spam_action": "disabled",
            "state": self.state,
            "type": "custom",
            "web_prefix": "email",
            "web_scheme": "https",
            "wildcard": False,
        }
        valid = "valid" if self.state == "active" else "unknown"
        sending = [
            {"record_type": "TXT", "name": self.domain, "value": "v=spf1 include:mailgun.org ~all", "valid": valid},
            {"record_type": "CNAME", "name": f"email.{self.domain}", "value": "mailgun.org", "valid": valid},
        ]
        receiving = [{"record_type": "MX", "priority": "10", "value": "mxa.mailgun.org", "valid": valid}]
        return web.json_response(
            {"domain": details, "receiving_dns_records": receiving, "sending_dns_records": sending}
        )
