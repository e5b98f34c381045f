"""A loopback OpenAI `POST /v1/moderations`: bearer key check, string or array input, real result and error shapes."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from tests.fakes._mod_server import LoopbackFake

CATEGORIES = ("harassment", "hate", "self-harm", "sexual", "violence")


class FakeOpenAIModeration(LoopbackFake):
    """`flag_words` maps a word to the category it flags."""

    def __init__(self, api_key: str = "sk-fake-moderation", flag_words: dict[str, str] | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.flag_words = flag_words or {}
        self.inputs: list[list[str]] = []
        self.models: list[str] = []

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1/moderations", self._moderate)]

    async def _moderate(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        try:
            body = await request.json()
            raw = body["input"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "'input' is a required property", "invalid_request_error", None)
        inputs = [raw] if isinstance(raw, str) else list(raw)
        self.inputs.append(inputs)
        self.models.append(str(body.get("model", "")))
        return web.json_response(
            {
                "id": f"modr-{secrets.token_hex(8)}",
                "model": body.get("model") or "omni-moderation-latest",
                "results": [self._result(text) for text in inputs],
            }
        )

    def _result(self, text: str) -> dict[str, Any]:
        hit = {category for word, category in self.flag_words.items() if word.lower() in text.lower()}
        return {
            "flagged": bool(hit),
            "categories": {category: category in hit for category in CATEGORIES},
            "category_scores": {category: 0.97 if category in hit else 0.001 for category in CATEGORIES},
        }


def _error(status: int, message: str, kind: str, code: str | None) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "param": None, "code": code}}, status=status)
