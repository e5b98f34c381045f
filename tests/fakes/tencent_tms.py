"""A loopback Tencent Cloud TMS (TextModeration 2020-12-29) that checks TC3 signatures like the real API.

The signature is recomputed here from the received headers and body with the secret the fake knows — written
independently of core/tc3.py, so a signer bug is caught rather than mirrored. Errors use the real shape: HTTP 200,
`{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`. Verdicts come from words configured on the fake.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes._mod_server import LoopbackFake

MAX_CHARS = 10_000
MAX_SKEW_SECONDS = 300
AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/]+)/tc3_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})$"
)


@dataclass
class TmsRequest:
    """One request as the fake saw it."""

    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    error: str = ""  # the error code answered, "" for a verdict


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def expected_signature(secret_key: str, request_headers: dict[str, str], body: bytes, date: str, signed: str) -> str:
    """Compute TC3-HMAC-SHA256 over the headers named in SignedHeaders, as Tencent's gateway does."""
    names = signed.split(";")
    canonical_headers = "".join(f"{name}:{request_headers.get(name, '').strip().lower()}\n" for name in names)
    canonical = f"POST\n/\n\n{canonical_headers}\n{signed}\n{hashlib.sha256(body).hexdigest()}"
    service = "tms"
    timestamp = request_headers.get("x-tc-timestamp", "")
    to_sign = (
        f"TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n" + hashlib.sha256(canonical.encode()).hexdigest()
    )
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class FakeTencentTMS(LoopbackFake):
    """POST / with X-TC-Action TextModeration; `block_words` / `review_words` map a word to its Label."""

    def __init__(
        self,
        secret_id: str = "AKIDfakeTMS0001",
        secret_key: str = "fake-tms-secret-key-0001",
        block_words: dict[str, str] | None = None,
        review_words: dict[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.block_words = block_words or {}
        self.review_words = review_words or {}
        self.clock = clock
        self.requests: list[TmsRequest] = []

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/", self._handle)]

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        headers = {name.lower(): value for name, value in request.headers.items()}
        seen = TmsRequest(headers=headers)
        self.requests.append(seen)
        problem = self._auth_problem(headers, raw)
        if problem is None:
            problem = self._body_problem(seen, raw)
        if problem is not None:
            seen.error = problem[0]
            return _json({"Error": {"Code": problem[0], "Message": problem[1]}})
        return _json(self._verdict(seen.text))

    def _auth_problem(self, headers: dict[str, str], raw: bytes) -> tuple[str, str] | None:
        for name in ("authorization", "x-tc-action", "x-tc-version", "x-tc-timestamp", "x-tc-region"):
            if not headers.get(name):
                return "MissingParameter", f"The request is missing a required parameter `{name}`."
        if headers["x-tc-action"] != "TextModeration":
            return "InvalidAction", f"The action `{headers['x-tc-action']}` is not found."
        if headers["x-tc-version"] != "2020-12-29":
            return "NoSuchVersion", "The requested version does not exist."
        timestamp = int(headers["x-tc-timestamp"])
        if abs(self.clock() - timestamp) > MAX_SKEW_SECONDS:
            return "AuthFailure.SignatureExpire", f"Signature expired. Timestamp:{timestamp}"
        match = AUTH_RE.match(headers["authorization"])
        if match is None:
            return "AuthFailure.InvalidAuthorization", "The Authorization header is malformed."
        if match["id"] != self.secret_id:
            return "AuthFailure.SecretIdNotFound", "The SecretId is not found, please ensure it is correct."
        scope_date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        wanted = expected_signature(self.secret_key, headers, raw, scope_date, match["signed"])
        if match["service"] != "tms" or match["date"] != scope_date or not hmac.compare_digest(wanted, match["sig"]):
            return (
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. Please check your signature is correct.",
            )
        return None

    def _body_problem(self, seen: TmsRequest, raw: bytes) -> tuple[str, str] | None:
        try:
            seen.body = json.loads(raw)
            seen.text = base64.b64decode(seen.body["Content"], validate=True).decode("utf-8")
        except (ValueError, KeyError, TypeError, binascii.Error):
            return "InvalidParameter", "Content must be the base64 of UTF-8 text."
        if not seen.text:
            return "InvalidParameterValue.ErrTextContentLen", "The text content is empty."
        if len(seen.text) > MAX_CHARS:
            return "InvalidParameterValue.ErrTextContentLen", "The text content is longer than 10000 characters."
        return None

    def _verdict(self, text: str) -> dict[str, Any]:
        lowered = text.lower()
        for suggestion, words in (("Block", self.block_words), ("Review", self.review_words)):
            hits = [word for word in words if word.lower() in lowered]
            if hits:
                return {
                    "BizType": "",
                    "DataId": "",
                    "Label": words[hits[0]],
                    "SubLabel": "",
                    "Suggestion": suggestion,
                    "Keywords": hits,
                    "Score": 95 if suggestion == "Block" else 70,
                    "DetailResults": [{"Label": words[hits[0]], "Suggestion": suggestion, "Keywords": hits}],
                    "Extra": "",
                }
        return {
            "BizType": "",
            "DataId": "",
            "Label": "Normal",
            "SubLabel": "",
            "Suggestion": "Pass",
            "Keywords": None,
            "Score": 0,
            "DetailResults": [],
            "Extra": "",
        }


def _json(response: dict[str, Any]) -> web.Response:
    return web.json_response({"Response": {**response, "RequestId": str(uuid.uuid4())}})
