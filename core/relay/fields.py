"""Reading the fields of a model or upstream from its JSON form (InvalidInput naming the field)."""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInput

INPUT_TYPES = ("text", "image", "audio", "file")  # what a model may accept in a request's content parts
SERVES = ("chat", "embeddings", "moderations")  # the endpoints a model answers (/v1/chat/completions, ...)


def text_field(data: dict[str, Any], name: str, default: str | None = None) -> str:
    value = data.get(name, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise InvalidInput(f"{name} must be a non-empty string." if default is None else f"{name} must be text.")
    return value.strip()


def int_field(data: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}.", field=name)
    return value


def bool_field(data: dict[str, Any], name: str, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false.", field=name)
    return value


def input_types_field(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(kind, str) and kind in INPUT_TYPES for kind in value):
        raise InvalidInput(f"input_types must be a list of {', '.join(INPUT_TYPES)}.", field="input_types")
    if "text" not in value:
        raise InvalidInput("input_types must include text.", field="input_types")
    return [kind for kind in INPUT_TYPES if kind in value]


def serves_field(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(kind, str) and kind in SERVES for kind in value):
        raise InvalidInput(f"serves must list at least one of {', '.join(SERVES)}.", field="serves")
    return [kind for kind in SERVES if kind in value]


def keys_field(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(key, str) and key.strip() for key in value):
        raise InvalidInput("keys must be a list of non-empty strings.", field="keys")
    return [key.strip() for key in value]
