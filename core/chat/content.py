"""What a caller sent in a Chat Completions request: every piece of its text (for input moderation), and the kinds of
input it uses (checked against what the model accepts, core.relay.catalogue Model.input_types).

An API caller writes its whole request: system prompt, earlier "assistant" answers, tool calls and their results,
names, tool definitions. All of it reaches the model, so all of it is moderated. Content parts of a kind the model
is not configured for are refused before anything is sent: an `image_url` must never reach an upstream that does
not take images (a self-hosted one may fetch the address itself), and where images are accepted their address must
be an https:// URL (or inline data) that does not name a loopback, private or link-local host.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson

from core.errors import UnsupportedContent
from core.relay.catalogue import Model

# Content part type -> the input type a model must accept for it (OpenAI Chat Completions and its common variants).
PART_INPUTS = {
    "text": "text",
    "input_text": "text",
    "refusal": "text",
    "image_url": "image",
    "input_image": "image",
    "input_audio": "audio",
    "file": "file",
    "input_file": "file",
}
# Fields that name or address things rather than say something: never moderated as text.
NOT_TEXT = frozenset({"role", "type", "id", "tool_call_id", "url", "image_url", "detail", "data", "format",
                      "file_data", "file_id", "input_audio"})  # fmt: skip
BLOCKED_HOSTS = frozenset({"localhost", "metadata", "metadata.google.internal"})


def caller_texts(messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any] | None = None) -> list[str]:
    """Return every piece of text the caller sent, for input moderation: each message's content (any role: a caller
    can write "assistant" turns too), content parts' text, names, tool and function call names and arguments,
    plus the text inside tool definitions and a response format schema."""
    texts = [text for message in messages for text in _strings(message)]
    for name in ("tools", "functions", "response_format"):
        if params and params.get(name):
            texts.extend(_strings(params[name]))
    return texts


def _strings(value: Any) -> Iterator[str]:
    """Yield the string values inside a JSON value, skipping fields that address or label rather than say."""
    if isinstance(value, str):
        if value:
            yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key not in NOT_TEXT:
                yield from _strings(item)
            if key == "arguments" and isinstance(item, str):
                yield from _strings(_json(item))  # the model reads the JSON escapes ("\u0065") as characters
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def check_input_types(model: Model, messages: Sequence[Mapping[str, Any]]) -> None:
    """Refuse content parts of a kind the model does not accept, or media at an unsafe address (UnsupportedContent)."""
    accepted = set(model.input_types)
    for index, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for position, part in enumerate(content):
            kind = str(part.get("type")) if isinstance(part, Mapping) else ""
            where = f"messages[{index}].content[{position}]"
            needed = PART_INPUTS.get(kind)
            if needed is None or needed not in accepted:
                raise UnsupportedContent(
                    f"{where}: the model {model.id} does not accept content of type '{kind}'.",
                    field=f"{where}.type",
                    model=model.id,
                    type=kind,
                )
            if needed == "image":
                _check_image_address(part, where)


def _check_image_address(part: Mapping[str, Any], where: str) -> None:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, Mapping) else image
    if not isinstance(url, str) or not safe_media_url(url):
        raise UnsupportedContent(
            f"{where}: an image must be an https:// URL of a public host, or data:image/...",
            field=f"{where}.image_url.url",
            type="image_url",
        )


def safe_media_url(url: str) -> bool:
    """Tell whether an upstream may be asked to fetch this address: inline image data, or https:// on a host that is
    not a loopback, private, link-local or reserved address (by name we can only refuse the obvious ones)."""
    if url.startswith("data:image/"):
        return True
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    if parts.scheme != "https" or not host or host in BLOCKED_HOSTS or host.endswith((".localhost", ".internal")):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        last = host.rsplit(".", 1)[-1]
        # No top-level domain is numeric: "2130706433", "127.1" or "0x7f.1" are addresses some resolvers accept.
        return not (last.isdigit() or last.startswith("0x"))
    return address.is_global
