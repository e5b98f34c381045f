"""Request-body parsing for the JSON API: strict pydantic models, clear 400s, nothing written on bad input."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError
from quart import request

from core.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

ModelT = TypeVar("ModelT", bound=BaseModel)


class Body(BaseModel):
    """Base of every request body: unknown fields are an error, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _invalid(error: ValidationError) -> InvalidInput:
    """Name the first bad field (`field`, as the hand-made errors do) and say what is wrong with it."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    message = str(first["msg"]).removeprefix("Value error, ")
    return InvalidInput(f"{where}: {message}", field=where)


def require_json() -> None:
    """Refuse a body that is not declared JSON (415): a cross-site form can send text/plain with the user's cookies
    and no preflight, but never application/json."""
    if not is_json_mimetype(request.mimetype):
        raise UnsupportedMediaType()


def is_json_mimetype(mimetype: str) -> bool:
    """Tell whether a media type (lowercase, without parameters) declares JSON."""
    return mimetype == "application/json" or mimetype.endswith("+json")


async def parse_body(model: type[ModelT]) -> ModelT:
    """Read the JSON body into `model` or raise InvalidInput / PayloadTooLarge."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise PayloadTooLarge()
    require_json()
    raw = await request.get_data(cache=True)
    try:
        data = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("The body is not valid JSON.", field="body") from exc
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object.", field="body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from exc


async def parse_object() -> dict[str, Any]:
    """Read a JSON object body as it is (for shapes core validates itself, e.g. a plan), or raise InvalidInput."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise PayloadTooLarge()
    require_json()
    try:
        data = orjson.loads(await request.get_data(cache=True) or b"{}")
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("The body is not valid JSON.", field="body") from exc
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object.", field="body")
    return data
