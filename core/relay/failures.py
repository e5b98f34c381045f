"""Classifying an upstream's failure before the first byte: fail over to the next upstream, or answer the caller."""

from __future__ import annotations

import aiohttp
import orjson

from core.errors import ContextTooLong, UpstreamError

ERROR_BODY_LIMIT = 64 * 1024


class Retry(Exception):
    """This upstream failed before the first byte; try the next. `counts` = it counts against its health;
    `key_fault` = the upstream refused the key (401/403) or its rate (429): its other keys may be accepted."""

    def __init__(self, reason: str, counts: bool = True, key_fault: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.counts = counts
        self.key_fault = key_fault


async def refusal(response: aiohttp.ClientResponse) -> Exception:
    """Classify a non-200 answer: Retry (next upstream) or the caller's error with the upstream's message."""
    status = response.status
    raw = await response.content.read(ERROR_BODY_LIMIT)
    message, code = _error_fields(raw)
    if status in (401, 403):
        return Retry(f"{status} the upstream rejected its key: {message}", key_fault=True)
    if status == 404:
        return Retry(f"404 {message}", counts=False)  # this upstream lacks the model; another may have it
    if status in (408, 429) or status >= 500:
        return Retry(f"{status} {message}", key_fault=status == 429)
    lowered = message.lower()
    if code == "context_length_exceeded" or "context length" in lowered or "maximum context" in lowered:
        return ContextTooLong(message, upstream_status=status)
    return UpstreamError(message or f"The upstream answered {status}.", upstream_status=status, upstream_code=code)


def _error_fields(raw: bytes) -> tuple[str, str]:
    """Return (message, code) from an OpenAI error body, tolerating anything else."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw[:300].decode("utf-8", "replace"), ""
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or ""), str(error.get("code") or error.get("type") or "")
    if isinstance(error, str):
        return error, ""
    return str(data)[:300], ""


def describe(exc: BaseException) -> str:
    """Say in a few words why a connection or read failed (for the log and the upstream's health)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "timed out connecting"
    if isinstance(exc, TimeoutError):
        return "timed out before the first byte"
    return f"{type(exc).__name__}: {exc}"[:300]
