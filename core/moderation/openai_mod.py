"""The `openai` provider: the upstream's `POST /v1/moderations` (flagged -> block).

OpenAI advises judging long text in pieces under ~2,000 characters; `input` takes an array, so one request carries
up to BATCH pieces. httpx directly (no SDK retries: a moderation answer that is late is a provider error).
"""

from __future__ import annotations

from typing import Any

import httpx

from core.moderation.verdicts import ProviderError, Verdict, split_chars, worst
from core.settings import Settings

NAME = "openai"
MAX_CHARS = 2_000
OVERLAP_CHARS = 50
BATCH = 32


class OpenAIProvider:
    """Check texts with an OpenAI-compatible moderation endpoint."""

    name = NAME

    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http
        base = (settings.OPENAI_MODERATION_ENDPOINT or settings.OPENAI_ENDPOINT).rstrip("/")
        self._url = base + "/v1/moderations"

    def missing_settings(self) -> list[str]:
        return [] if self._settings.OPENAI_API_KEY.get_secret_value() else ["OPENAI_API_KEY"]

    async def check(self, text: str, user_id: str) -> Verdict:
        if self.missing_settings():
            raise ProviderError(NAME, "not configured: OPENAI_API_KEY")
        chunks = split_chars(text, MAX_CHARS, OVERLAP_CHARS)
        verdicts: list[Verdict] = []
        for start in range(0, len(chunks), BATCH):
            verdicts.extend(await self._check_batch(chunks[start : start + BATCH]))
            if any(verdict.decision == "block" for verdict in verdicts):
                break
        return worst(verdicts, NAME)

    async def probe(self) -> list[str]:
        """Moderate "ok" once (moderations are free), for the doctor: proves the endpoint, the key and the model."""
        try:
            await self._check_batch(["ok"])
        except ProviderError as exc:
            return [f"{exc} (at {self._url})"]
        return []

    async def _check_batch(self, chunks: list[str]) -> list[Verdict]:
        body = {"model": self._settings.OPENAI_MODERATION_MODEL, "input": chunks}
        headers = {"Authorization": f"Bearer {self._settings.OPENAI_API_KEY.get_secret_value()}"}
        try:
            response = await self._http.post(
                self._url, json=body, headers=headers, timeout=self._settings.MODERATION_TIMEOUT_SECONDS
            )
        except httpx.HTTPError as exc:
            raise ProviderError(NAME, f"request failed ({type(exc).__name__})") from exc
        try:
            data = response.json()
        except ValueError as exc:
            raise ProviderError(NAME, f"HTTP {response.status_code}, answer is not JSON") from exc
        if response.status_code != 200 or not isinstance(data, dict):
            raise ProviderError(NAME, f"HTTP {response.status_code}: {_error_message(data)}")
        results = data.get("results")
        if not isinstance(results, list) or len(results) != len(chunks):
            raise ProviderError(NAME, "answer has no results for the input")
        return [_verdict(result) for result in results]


def _error_message(data: Any) -> str:
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or error.get("type") or error.get("message") or "")[:200]
    return ""


def _verdict(result: Any) -> Verdict:
    if not isinstance(result, dict):
        raise ProviderError(NAME, "malformed result")
    if not result.get("flagged"):
        return Verdict("pass", NAME)
    categories = result.get("categories") or {}
    flagged = [name for name, on in categories.items() if on] if isinstance(categories, dict) else []
    return Verdict("block", NAME, ",".join(flagged[:3]) or "flagged")
