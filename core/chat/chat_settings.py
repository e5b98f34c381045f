"""Per-chat settings kept with the conversation on the server, so every device sees them.

A conversation's meta hash (core.chat.conversations) carries them as ``s.<name>`` fields: the system prompt (and
the name of the mask or preset it came from), the temperature, the longest answer in tokens, and how many earlier
messages go with each question. Unset values mean the model's defaults and "as many as fit the window".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from core.errors import InvalidInput

PREFIX = "s."
SYSTEM_NAME_MAX_CHARS = 60
MAX_TOKENS_LIMIT = 1_000_000
CONTEXT_MESSAGES_LIMIT = 1_000


@dataclass(frozen=True)
class ChatSettings:
    system: str = ""
    system_name: str = ""  # the mask or preset the system prompt came from ("" = typed by hand, or none)
    temperature: float | None = None  # 0..2; None = the model's default
    max_tokens: int | None = None  # the longest answer, in tokens; None = the model's default
    context_messages: int | None = None  # earlier messages sent with each question; None = all that fit

    def public(self) -> dict[str, Any]:
        return asdict(self)

    def params(self) -> dict[str, Any]:
        """The upstream request parameters these settings set."""
        params: dict[str, Any] = {}
        if self.temperature is not None:
            params["temperature"] = self.temperature
        if self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens
        return params


DEFAULT_SETTINGS = ChatSettings()


def _number(value: object, field: str, low: float, high: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidInput(f"{field} must be a number from {low:g} to {high:g}.", field=f"settings.{field}")
    return float(value)


def _whole(value: object, field: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{field} must be a whole number from {low} to {high}.", field=f"settings.{field}")
    return value


def _text(value: object, field: str, max_chars: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string.", field=f"settings.{field}")
    text = value.strip()
    if len(text) > max_chars:
        from core.chat.messages import check_length  # one rule and one error for over-long texts

        check_length(text, max_chars, field=f"settings.{field}")
    return text


def settings_from_dict(data: Mapping[str, Any], *, system_max_chars: int) -> ChatSettings:
    """Read settings sent by a client; InvalidInput (naming `settings.<field>`) for anything out of range."""
    unknown = set(data) - set(ChatSettings.__dataclass_fields__)
    if unknown:
        raise InvalidInput(f"Unknown chat setting: {sorted(unknown)[0]}.", field=f"settings.{sorted(unknown)[0]}")
    return ChatSettings(
        system=_text(data.get("system"), "system", system_max_chars),
        system_name=" ".join(_text(data.get("system_name"), "system_name", SYSTEM_NAME_MAX_CHARS).split()),
        temperature=_number(data.get("temperature"), "temperature", 0, 2),
        max_tokens=_whole(data.get("max_tokens"), "max_tokens", 1, MAX_TOKENS_LIMIT),
        context_messages=_whole(data.get("context_messages"), "context_messages", 0, CONTEXT_MESSAGES_LIMIT),
    )


def settings_fields(settings: ChatSettings) -> dict[str, str]:
    """The meta-hash fields of the settings (every field written, "" for unset, so an update clears old values)."""
    return {PREFIX + name: "" if value is None else str(value) for name, value in asdict(settings).items()}


def settings_from_fields(fields: Mapping[str, str]) -> ChatSettings:
    """Read the settings back from a conversation's meta fields (absent: the defaults)."""

    def get(name: str) -> str:
        return fields.get(PREFIX + name, "")

    return ChatSettings(
        system=get("system"),
        system_name=get("system_name"),
        temperature=float(get("temperature")) if get("temperature") else None,
        max_tokens=int(get("max_tokens")) if get("max_tokens") else None,
        context_messages=int(get("context_messages")) if get("context_messages") else None,
    )
