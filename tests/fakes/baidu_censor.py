"""A loopback Baidu AIP: the OAuth client-credentials token endpoint and the v2 user_defined text censor.

Tokens are checked on every censor call: unknown -> error_code 110, expired (by the fake's clock) -> 111, in the
real `{"error_code","error_msg","log_id"}` shape with HTTP 200. Bad client credentials get the real OAuth error
(`{"error":"invalid_client","error_description":...}`, HTTP 401). Verdicts come from words configured on the fake.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes._mod_server import LoopbackFake

MAX_BYTES = 20_000
FORM = "application/x-www-form-urlencoded"


@dataclass
class CensorRequest:
    """One censor call as the fake saw it."""

    token: str
    text: str
    user_id: str
    content_type: str
    error_code: int = 0


class FakeBaiduCensor(LoopbackFake):
    """`block_words` / `review_words` map a word to the `msg` the censor reports for it."""

    def __init__(
        self,
        api_key: str = "fake-baidu-api-key",
        secret_key: str = "fake-baidu-secret-key",
        block_words: dict[str, str] | None = None,
        review_words: dict[str, str] | None = None,
        expires_in: int = 2_592_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.secret_key = secret_key
        self.block_words = block_words or {}
        self.review_words = review_words or {}
        self.expires_in = expires_in
        self.clock = clock
        self.tokens: dict[str, float] = {}  # token -> expiry
        self.token_requests = 0
        self.censor_requests: list[CensorRequest] = []
        self.fail_conclusion = False  # answer conclusionType 4 (审核失败)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/oauth/2.0/token", self._token),
            web.post("/rest/2.0/solution/v1/text_censor/v2/user_defined", self._censor),
        ]

    def revoke_tokens(self) -> None:
        """Forget every issued token, as when Baidu invalidates them."""
        self.tokens.clear()

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        query = request.query
        if query.get("grant_type") != "client_credentials":
            return web.json_response(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "The authorization grant type is not supported",
                },
                status=400,
            )
        if query.get("client_id") != self.api_key:
            return web.json_response({"error": "invalid_client", "error_description": "unknown client id"}, status=401)
        if query.get("client_secret") != self.secret_key:
            return web.json_response(
                {"error": "invalid_client", "error_description": "Client authentication failed"}, status=401
            )
        token = (
            f"24.{secrets.token_hex(16)}.{self.expires_in}.{int(self.clock())}.282335-{random.randint(10**7, 10**8)}"
        )
        self.tokens[token] = self.clock() + self.expires_in
        return web.json_response(
            {
                "refresh_token": f"25.{secrets.token_hex(16)}",
                "expires_in": self.expires_in,
                "session_key": secrets.token_hex(16),
                "access_token": token,
                "scope": "public brain_all_scope solution_face",
                "session_secret": secrets.token_hex(16),
            }
        )

    async def _censor(self, request: web.Request) -> web.Response:
        token = request.query.get("access_token", "")
        form = await request.post()
        seen = CensorRequest(
            token=token,
            text=str(form.get("text", "")),
            user_id=str(form.get("userId", "")),
            content_type=request.content_type,
        )
        self.censor_requests.append(seen)
        error = self._error(seen)
        if error is not None:
            seen.error_code = error[0]
            return web.json_response({"error_code": error[0], "error_msg": error[1], "log_id": _log_id()})
        return web.json_response(self._conclusion(seen.text))

    def _error(self, seen: CensorRequest) -> tuple[int, str] | None:
        if seen.token not in self.tokens:
            return 110, "Access token invalid or no longer valid"
        if self.tokens[seen.token] < self.clock():
            return 111, "Access token expired"
        if seen.content_type != FORM or not seen.text:
            return 216100, "invalid param"
        if len(seen.text.encode("utf-8")) > MAX_BYTES:
            return 216100, "invalid param"
        return None

    def _conclusion(self, text: str) -> dict[str, Any]:
        if self.fail_conclusion:
            return {"log_id": _log_id(), "conclusion": "审核失败", "conclusionType": 4}
        lowered = text.lower()
        for kind, name, words in ((2, "不合规", self.block_words), (3, "疑似", self.review_words)):
            hits = [word for word in words if word.lower() in lowered]
            if hits:
                item = {
                    "type": 12,
                    "subType": 2 if kind == 2 else 3,
                    "conclusion": name,
                    "conclusionType": kind,
                    "msg": words[hits[0]],
                    "hits": [
                        {
                            "wordHitPositions": [
                                {"keyword": word, "positions": [[lowered.find(word.lower()), len(word)]]}
                                for word in hits
                            ],
                            # Baidu sends probability as a number or a string; keep both in play.
                            "probability": 1.0 if kind == 2 else "0.72",
                            "datasetName": "百度默认黑词库",
                            "words": hits,
                            "modelHitPositions": [],
                        }
                    ],
                }
                return {"log_id": _log_id(), "conclusion": name, "conclusionType": kind, "data": [item]}
        return {"log_id": _log_id(), "conclusion": "合规", "conclusionType": 1}


def _log_id() -> int:
    return random.randint(10**15, 10**16)
