"""Chat requests: reading and checking an OpenAI Chat Completions body (see core.chat.prompt for fitting it into the
model's window and core.chat.content for its texts and input types)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.chat.turns import ChatTurn
from core.errors import InvalidInput

# Sampling and tool parameters a client may pass through to the upstream; anything else is dropped.
PASSTHROUGH_PARAMS = frozenset(
    {
        "temperature", "top_p", "max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty",
        "stop", "seed", "logit_bias", "logprobs", "top_logprobs", "user", "response_format", "tools",
        "tool_choice", "parallel_tool_calls", "reasoning_effort", "modalities", "prediction", "verbosity",
    }
)  # fmt: skip
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
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise InvalidInput("stream must be a boolean", field="stream")
        if body.get("n", 1) not in (1, None):
            raise InvalidInput("Only n=1 is supported.", field="n")
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        params = {name: value for name, value in body.items() if name in PASSTHROUGH_PARAMS}
        check_params(params)
        return cls(model=model, messages=messages, stream=stream, params=params, include_usage=include_usage)


def check_messages(messages: object) -> None:
    """Refuse what an upstream would refuse anyway (after a round trip), or what would reach it unmoderated.

    Each message is an object with a known role; its content is a string or an array of content parts (an assistant
    message may instead carry tool calls); a user message says something.
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
        if role == "user" and not _text_of(content).strip() and not _has_media(content):
            raise InvalidInput(f"{where}.content must not be empty", field=f"{where}.content")


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


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else []
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict) and p.get("type") == "text")


def _has_media(content: object) -> bool:
    return isinstance(content, list) and any(part.get("type") != "text" for part in content)


def check_params(params: Mapping[str, Any]) -> None:
    """Check the types and ranges of the passthrough parameters ChatGate knows (InvalidInput naming the field)."""
    for name, value in params.items():
        rule = PARAM_RULES.get(name)
        if rule is not None and value is not None and not rule[0](value):
            raise InvalidInput(f"Invalid value for '{name}': expected {rule[1]}.", field=name)


def _number(low: float, high: float) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int | float) and not isinstance(v, bool) and low <= v <= high


def _integer(low: int, high: int = 2**63 - 1) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _stop(value: Any) -> bool:
    strings = isinstance(value, list) and len(value) <= 4 and all(isinstance(item, str) for item in value)
    return isinstance(value, str) or strings


PARAM_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "temperature": (_number(0, 2), "a number from 0 to 2"),
    "top_p": (_number(0, 1), "a number from 0 to 1"),
    "presence_penalty": (_number(-2, 2), "a number from -2 to 2"),
    "frequency_penalty": (_number(-2, 2), "a number from -2 to 2"),
    "max_tokens": (_integer(1), "a positive integer"),
    "max_completion_tokens": (_integer(1), "a positive integer"),
    "seed": (_integer(-(2**63)), "an integer"),
    "top_logprobs": (_integer(0, 20), "an integer from 0 to 20"),
    "stop": (_stop, "a string or an array of at most 4 strings"),
    "logprobs": (lambda v: isinstance(v, bool), "a boolean"),
    "parallel_tool_calls": (lambda v: isinstance(v, bool), "a boolean"),
    "user": (lambda v: isinstance(v, str), "a string"),
    "tools": (lambda v: isinstance(v, list) and all(isinstance(tool, dict) for tool in v), "an array of objects"),
    "tool_choice": (lambda v: isinstance(v, str | dict), "a string or an object"),
    "response_format": (lambda v: isinstance(v, dict), "an object"),
    "logit_bias": (lambda v: isinstance(v, dict), "an object"),
}
