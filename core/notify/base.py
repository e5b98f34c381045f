"""What every delivery provider shares: the provider contract, failure errors, HTTP posting, settings checks."""

from __future__ import annotations

import logging
from typing import Any, Literal, Protocol

import httpx
from pydantic import SecretStr

from core.errors import DeliveryFailed
from core.settings import Settings

log = logging.getLogger("chatgate.notify")

Kind = Literal["email", "sms"]
_WHAT: dict[Kind, str] = {"email": "The email", "sms": "The text message"}


class Provider(Protocol):
    """One configured email or SMS provider."""

    name: str

    def problems(self) -> list[str]:
        """List what is missing in the settings (no I/O)."""
        ...

    async def check(self) -> list[str]:
        """List problems: the settings, then one harmless authenticated call to the provider."""
        ...


def delivery_failed(kind: Kind, provider: str, reason: str) -> DeliveryFailed:
    """Log why a provider did not take a message and return the safe error for the user."""
    # Provider answers carry error codes and messages, never our secrets; keep them short in the log.
    log.warning("%s provider %s did not accept the message: %s", kind, provider, reason[:300])
    return DeliveryFailed(f"{_WHAT[kind]} could not be sent; try again later.", provider=provider)


async def post(http: httpx.AsyncClient, kind: Kind, provider: str, url: str, **kwargs: Any) -> httpx.Response:
    """POST through the shared client; a network failure becomes DeliveryFailed."""
    try:
        return await http.post(url, **kwargs)
    except httpx.HTTPError as exc:
        raise delivery_failed(kind, provider, f"unreachable: {type(exc).__name__}") from exc


def json_object(response: httpx.Response) -> dict[str, Any]:
    """Return the JSON object of a response, or {} when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def excerpt(response: httpx.Response) -> str:
    """Describe a provider answer for the log: status and the start of the body."""
    return f"HTTP {response.status_code} {response.text[:200]!r}"


def missing_settings(settings: Settings, provider: str, names: tuple[str, ...]) -> list[str]:
    """Say which of the named settings are empty, as one doctor line."""
    empty = []
    for name in names:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not str(value).strip():
            empty.append(name)
    return [f"{provider}: set {', '.join(empty)}"] if empty else []


# Query parameters that carry a code (Aliyun's signed query) or a key (Elastic v2 `apikey`): never logged.
MASKED_PARAMS = ("TemplateParam", "apikey")


class _HideCodesInUrls(logging.Filter):
    """Mask codes and keys in the URLs httpx logs at INFO level."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(arg) for arg in record.args)
        return True


def _masked(arg: object) -> object:
    if isinstance(arg, httpx.URL):
        for name in MASKED_PARAMS:
            if name in arg.params:
                arg = arg.copy_set_param(name, "***")
    return arg


_URL_MASK = _HideCodesInUrls()


def hide_codes_in_http_logs() -> None:
    """Keep codes and keys out of httpx's request log (Aliyun's signed query, Elastic's `apikey`)."""
    httpx_log = logging.getLogger("httpx")
    if _URL_MASK not in httpx_log.filters:
        httpx_log.addFilter(_URL_MASK)


def bad_base_url(provider: str, name: str, url: str) -> list[str]:
    """Say when an endpoint setting is not an http(s) URL."""
    if url.startswith(("https://", "http://")):
        return []
    return [f"{provider}: {name} must start with https:// (got {url!r})"]


def check_timeout(settings: Settings) -> float:
    """Seconds a doctor probe waits for a provider: the provider-call timeout the moderation probes use too."""
    return settings.MODERATION_TIMEOUT_SECONDS


def origin(url: str) -> str:
    """Return scheme://host[:port] of a URL, the part of an endpoint safe to print (no path, query or userinfo)."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


async def probe(
    http: httpx.AsyncClient, provider: str, method: str, url: str, settings: Settings, **kwargs: Any
) -> httpx.Response | str:
    """Send one doctor request (short timeout); return the answer, or a problem line when it cannot be had."""
    try:
        return await http.request(method, url, timeout=check_timeout(settings), **kwargs)
    except httpx.HTTPError as exc:
        # The URL may carry a key (Elastic): name only its origin.
        return f"{provider}: cannot reach {origin(url)}: {type(exc).__name__}"
