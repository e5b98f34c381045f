"""The `tencent` provider: Tencent Cloud TMS TextModeration (2020-12-29), TC3-signed.

Protocol: shared/docs/PROTOCOLS.md section 2. Content is base64 of UTF-8, at most 10,000 characters per call, so
longer texts are checked in overlapping chunks (concurrently) and the worst verdict wins. Errors come back as
HTTP 200 with `Response.Error`; those, transport failures and non-200 answers are provider errors.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.moderation.verdicts import Decision, ProviderError, Verdict, merge_chunks, split_chars
from core.settings import Settings
from core.tc3 import tc3_headers

NAME = "tencent"
ACTION = "TextModeration"
VERSION = "2020-12-29"
SERVICE = "tms"
MAX_CHARS = 10_000
OVERLAP_CHARS = 50
SUGGESTIONS: dict[str, Decision] = {"Pass": "pass", "Review": "review", "Block": "block"}


class TencentProvider:
    """Check texts with TMS; one signed POST per chunk."""

    name = NAME
    # TMS has no free read-only call, so the doctor spends one text check on "ok"; the doctor prints this.
    CHECK_NOTE = 'checked by moderating the text "ok": one billed TextModeration call (one text check) per doctor run'

    def __init__(self, settings: Settings, http: httpx.AsyncClient, clock: Callable[[], float]) -> None:
        self._settings = settings
        self._http = http
        self._clock = clock
        self._url = settings.TENCENT_TMS_ENDPOINT.rstrip("/") + "/"
        self._host = urlsplit(settings.TENCENT_TMS_ENDPOINT).netloc

    def missing_settings(self) -> list[str]:
        missing = [name for name in ("TENCENT_SECRETID", "TENCENT_REGION") if not getattr(self._settings, name)]
        if not self._settings.TENCENT_SECRETKEY.get_secret_value():
            missing.append("TENCENT_SECRETKEY")
        return missing

    async def check(self, text: str, user_id: str) -> Verdict:
        if self.missing_settings():
            raise ProviderError(NAME, "not configured: " + ", ".join(self.missing_settings()))
        chunks = split_chars(text, MAX_CHARS, OVERLAP_CHARS)
        results = await asyncio.gather(*(self._check_chunk(c, user_id) for c in chunks), return_exceptions=True)
        return merge_chunks(results, NAME)

    async def probe(self) -> list[str]:
        """Moderate "ok" once (TC3-signed), for the doctor: proves the endpoint, the SecretId and the SecretKey."""
        try:
            await self._check_chunk("ok", "")
        except ProviderError as exc:
            return [f"{exc} (at {self._url})"]
        return []

    def _body(self, chunk: str, user_id: str) -> bytes:
        body: dict[str, Any] = {"Content": base64.b64encode(chunk.encode("utf-8")).decode("ascii")}
        if self._settings.TENCENT_TMS_BIZTYPE:
            body["BizType"] = self._settings.TENCENT_TMS_BIZTYPE
        if user_id:
            body["User"] = {"UserId": user_id}
        return json.dumps(body, separators=(",", ":")).encode("utf-8")

    async def _check_chunk(self, chunk: str, user_id: str) -> Verdict:
        payload = self._body(chunk, user_id)
        headers = tc3_headers(
            secret_id=self._settings.TENCENT_SECRETID,
            secret_key=self._settings.TENCENT_SECRETKEY.get_secret_value(),
            service=SERVICE,
            host=self._host,
            action=ACTION,
            version=VERSION,
            region=self._settings.TENCENT_REGION,
            payload=payload,
            timestamp=int(self._clock()),
        )
        try:
            response = await self._http.post(
                self._url, content=payload, headers=headers, timeout=self._settings.MODERATION_TIMEOUT_SECONDS
            )
        except httpx.HTTPError as exc:
            raise ProviderError(NAME, f"request failed ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise ProviderError(NAME, f"HTTP {response.status_code}")
        return _verdict(_response_of(response))


def _response_of(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()["Response"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ProviderError(NAME, "answer is not a TMS response") from exc
    if not isinstance(data, dict):
        raise ProviderError(NAME, "answer is not a TMS response")
    error = data.get("Error")
    if isinstance(error, dict):
        raise ProviderError(NAME, f"{error.get('Code')}: {str(error.get('Message', ''))[:200]}")
    return data


def _verdict(data: dict[str, Any]) -> Verdict:
    decision = SUGGESTIONS.get(str(data.get("Suggestion")))
    if decision is None:
        raise ProviderError(NAME, f"unknown Suggestion {str(data.get('Suggestion'))[:40]!r}")
    label = str(data.get("Label") or "")
    sub_label = str(data.get("SubLabel") or "")
    words = tuple(str(word) for word in data.get("Keywords") or ())
    return Verdict(decision, NAME, f"{label}/{sub_label}" if sub_label else label, words)
