"""The `baidu` provider: Baidu text censor (v2 user_defined) with an access token shared through the store.

Protocol: shared/docs/PROTOCOLS.md section 3. The token (30 days) is cached in `tok:baidu` with a TTL a margin
short of its life, so every process uses one token. On error_code 110/111 the token is refreshed once and the
call retried. Text goes form-encoded, at most 20,000 UTF-8 bytes per call (overlapping chunks, never inside a
character). conclusionType 1 pass, 2 block, 3 review, 4 failure (a provider error, never a block by itself).
The token (and, on the token call, the secret key) travel in the query string, as Baidu's own SDK sends them, so
no URL is ever put in an error message here, and httpx's request log lines are masked by a filter on its logger.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import httpx

from core.moderation.verdicts import Decision, ProviderError, Verdict, merge_chunks, split_utf8
from core.settings import Settings
from core.store.connection import Store

NAME = "baidu"
MAX_BYTES = 20_000
OVERLAP_BYTES = 150
TOKEN_ERRORS = frozenset({110, 111})
CONCLUSIONS: dict[int, Decision] = {1: "pass", 2: "block", 3: "review"}
CENSOR_PATH = "/rest/2.0/solution/v1/text_censor/v2/user_defined"
TOKEN_PATH = "/oauth/2.0/token"


SECRET_IN_URL = re.compile(r"((?:access_token|client_secret)=)[^&\s\"']+")


class RedactAccessTokens(logging.Filter):
    """Mask the token and client secret in a log record's arguments (httpx logs every request URL at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(arg) for arg in record.args)
        return True


def _redact(arg: object) -> object:
    if isinstance(arg, str | httpx.URL) and ("access_token=" in str(arg) or "client_secret=" in str(arg)):
        return SECRET_IN_URL.sub(r"\1***", str(arg))
    return arg


def install_log_redaction() -> None:
    """Add the redacting filter to the `httpx` logger once per process."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(existing, RedactAccessTokens) for existing in logger.filters):
        logger.addFilter(RedactAccessTokens())


def token_ttl(expires_in: int) -> int:
    """Keep a token a margin short of its life: a tenth of it, at most a day, and never less than a minute."""
    return max(expires_in - min(expires_in // 10, 86_400), 60) if expires_in > 120 else max(expires_in // 2, 1)


class BaiduProvider:
    """Check texts with the Baidu censor; the access token is fetched once and shared through the store."""

    name = NAME

    def __init__(self, settings: Settings, store: Store, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._store = store
        self._http = http
        self._base = settings.BAIDU_API_BASE.rstrip("/")
        install_log_redaction()

    def missing_settings(self) -> list[str]:
        missing = [] if self._settings.BAIDU_APIKEY else ["BAIDU_APIKEY"]
        if not self._settings.BAIDU_SECRETKEY.get_secret_value():
            missing.append("BAIDU_SECRETKEY")
        return missing

    async def check(self, text: str, user_id: str) -> Verdict:
        if self.missing_settings():
            raise ProviderError(NAME, "not configured: " + ", ".join(self.missing_settings()))
        chunks = split_utf8(text, MAX_BYTES, OVERLAP_BYTES)
        token = await self.access_token()  # once, before the chunks fan out
        results = await asyncio.gather(
            *(self._check_chunk(chunk, user_id, token) for chunk in chunks), return_exceptions=True
        )
        return merge_chunks(results, NAME)

    async def probe(self) -> list[str]:
        """Fetch a fresh access token (free), for the doctor: proves BAIDU_APIKEY and BAIDU_SECRETKEY.

        The shared token is left alone: a cached one would prove nothing about the keys set now.
        """
        try:
            await self._fetch_token()
        except ProviderError as exc:
            return [f"{exc} (at {self._base}{TOKEN_PATH})"]
        return []

    async def _check_chunk(self, chunk: str, user_id: str, token: str) -> Verdict:
        data = await self._censor(chunk, user_id, token)
        if data.get("error_code") in TOKEN_ERRORS:
            token = await self.access_token(stale=token)
            data = await self._censor(chunk, user_id, token)
        if "error_code" in data:
            raise ProviderError(NAME, f"error_code {data['error_code']}: {str(data.get('error_msg', ''))[:200]}")
        return _verdict(data)

    async def access_token(self, stale: str | None = None) -> str:
        """Return the shared token; with `stale`, replace it unless another process already did."""
        key = self._store.keys.baidu_token()
        current = await self._store.redis.get(key)
        if current and current != stale:
            return str(current)
        token, expires_in = await self._fetch_token()
        await self._store.redis.set(key, token, ex=token_ttl(expires_in))
        return token

    async def _fetch_token(self) -> tuple[str, int]:
        params = {
            "grant_type": "client_credentials",
            "client_id": self._settings.BAIDU_APIKEY,
            "client_secret": self._settings.BAIDU_SECRETKEY.get_secret_value(),
        }
        data = await self._post(self._base + TOKEN_PATH, params=params)
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            reason = data.get("error_description") or data.get("error") or "no access_token"
            raise ProviderError(NAME, f"token refused: {str(reason)[:200]}")
        try:
            expires_in = int(data.get("expires_in", 2_592_000))
        except (TypeError, ValueError):
            expires_in = 2_592_000
        return token, expires_in

    async def _censor(self, chunk: str, user_id: str, token: str) -> dict[str, Any]:
        form = {"text": chunk}
        if user_id:
            form["userId"] = user_id
        return await self._post(self._base + CENSOR_PATH, params={"access_token": token}, data=form)

    async def _post(self, url: str, params: dict[str, str], data: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            response = await self._http.post(
                url, params=params, data=data, timeout=self._settings.MODERATION_TIMEOUT_SECONDS
            )
        except httpx.HTTPError as exc:
            raise ProviderError(NAME, f"request failed ({type(exc).__name__})") from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise ProviderError(NAME, f"HTTP {response.status_code}, answer is not JSON") from exc
        if not isinstance(body, dict):
            raise ProviderError(NAME, f"HTTP {response.status_code}, unexpected answer")
        if response.status_code != 200 and "error" not in body and "error_code" not in body:
            raise ProviderError(NAME, f"HTTP {response.status_code}")
        return body


def _verdict(data: dict[str, Any]) -> Verdict:
    try:
        kind = int(data["conclusionType"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ProviderError(NAME, "answer has no conclusionType") from exc
    decision = CONCLUSIONS.get(kind)
    if decision is None:
        raise ProviderError(NAME, f"censor failed (conclusionType {kind})")
    if decision == "pass":
        return Verdict("pass", NAME)
    items = [item for item in data.get("data") or () if isinstance(item, dict)]
    matching = [item for item in items if _int(item.get("conclusionType")) == kind] or items
    label = str(matching[0].get("msg") or matching[0].get("conclusion") or "") if matching else ""
    words = tuple(
        dict.fromkeys(
            str(word)
            for item in matching
            for hit in item.get("hits") or ()
            if isinstance(hit, dict)
            for word in hit.get("words") or ()
        )
    )
    return Verdict(decision, NAME, label or str(data.get("conclusion") or ""), words)


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
