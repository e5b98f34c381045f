"""Chat requests: reading and checking an OpenAI Chat Completions body (see core.chat.prompt for fitting it into the
model's window and core.chat.content for its texts and input types)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.chat.params import PASSTHROUGH_PARAMS, check_params, choices_of, passthrough_params, read_stream_options
from core.chat.turns import ChatTurn
from core.errors import InvalidInput

__all__ = ["PASSTHROUGH_PARAMS", "ROLES", "ChatRequest", "check_messages", "check_params"]

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


@dataclass(frozen=True)
class ChatRequest:
    """A chat call: OpenAI `messages` (/v1) or a conversation `turn` (web chat, bots), plus passthrough params."""

    model: str
    messages: list[dict[str, Any]] | None = None
    turn: ChatTurn | None = None
    stream: bool = True
    params: Mapping[str, Any] = field(default_factory=dict)
    include_usage: bool = True  # forward the upstream's usage chunk (/v1: stream_options.include_usage)
    trim: bool = False  # messages: drop the oldest turns that do not fit (the Responses API's truncation "auto")
    # This request's token counts (core.chat.prompt), made once and shared by every path that fits its messages.
    counts: dict[str, tuple[int, list[int]]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_openai(cls, body: Mapping[str, Any]) -> ChatRequest:
        """Read a Chat Completions request body; InvalidInput (with `field`) when it is malformed."""
        model = body.get("model")
        if not isinstance(model, str) or not model.strip():
            raise InvalidInput("you must provide a model parameter", field="model")
        messages = body.get("messages")
        check_messages(messages)
        stream = body.get("stream")
        if stream is None:
            stream = False  # `"stream": null` is OpenAI's default, as if it were left out
        if not isinstance(stream, bool):
            raise InvalidInput("stream must be a boolean", field="stream")
        params = passthrough_params(body)
        include_usage, options = read_stream_options(body)
        if options:
            params["stream_options"] = options  # passed on upstream beside the relay's include_usage
        return cls(model=model, messages=messages, stream=stream, params=params, include_usage=include_usage)

    @property
    def choices(self) -> int:
        """How many answers the call asks for (`n`): each one is a message of the plan's quota."""
        return choices_of(self.params)


def check_messages(messages: object) -> None:
    """Refuse what an upstream would refuse anyway (after a round trip), or what would reach it unmoderated.

    Each message is an object with a known role; its content is a string (empty too, as OpenAI accepts it) or an
    array of content parts (an assistant message may instead carry tool calls).
    """
    if not isinstance(messages, list) or not messages:
        raise InvalidInput("messages must be a non-empty array", field="messages")
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise InvalidInput(f"{where} must be an object with a role", field=where)
        role = message.get("role")
        if role not in ROLES:
            raise InvalidInput(f"{where}.role must be one of {', '.join(sorted(ROLES))}", field=f"{where}.role")
        content = message.get("content")
        if content is None and role == "assistant" and (message.get("tool_calls") or message.get("function_call")):
            continue
        if not _valid_content(content):
            raise InvalidInput(
                f"{where}.content must be a string or an array of content parts", field=f"{where}.content"
            )


def _valid_content(content: object) -> bool:
    if isinstance(content, str):
        return True
    if not isinstance(content, list) or not content:
        return False
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if not isinstance(kind, str) or (kind == "text" and not isinstance(part.get("text"), str)):
            return False
    return True
