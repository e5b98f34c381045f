"""Chat requests: reading an OpenAI Chat Completions body, the user's new words, fitting the context window."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from core.chat_turns import ChatTurn
from core.context import fit_context
from core.errors import InvalidInput
from core.models import Model
from core.tokens import count_message_tokens

# Sampling and tool parameters a client may pass through to the upstream; anything else is dropped.
PASSTHROUGH_PARAMS = frozenset(
    {
        "temperature", "top_p", "max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty",
        "stop", "seed", "logit_bias", "logprobs", "top_logprobs", "user", "response_format", "tools",
        "tool_choice", "parallel_tool_calls", "reasoning_effort", "modalities", "prediction", "verbosity",
    }
)  # fmt: skip
MAX_OUTPUT_RESERVE = 4096  # room kept for the answer when the client sets no max_tokens


@dataclass(frozen=True)
class ChatRequest:
    """A chat call: OpenAI `messages` (/v1) or a conversation `turn` (web chat, bots), plus passthrough params."""

    model: str
    messages: list[dict[str, Any]] | None = None
    turn: ChatTurn | None = None
    stream: bool = True
    params: Mapping[str, Any] = field(default_factory=dict)
    include_usage: bool = True  # forward the upstream's usage chunk (/v1: stream_options.include_usage)

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
        return cls(model=model, messages=messages, stream=stream, params=params, include_usage=include_usage)


def check_messages(messages: object) -> None:
    if not isinstance(messages, list) or not messages:
        raise InvalidInput("messages must be a non-empty array", field="messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise InvalidInput(f"messages[{index}] must be an object with a role", field=f"messages[{index}]")


def new_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """Return the text of the user messages after the last answer (the only part input moderation sees)."""
    parts: list[str] = []
    for message in reversed(messages):
        role = message.get("role")
        if role in ("assistant", "tool", "function"):
            break
        if role == "user":
            parts.append(_text_of(message.get("content")))
    return "\n".join(reversed(parts)).strip()


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def fit_messages(
    model: Model, messages: list[dict[str, Any]], params: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], int | None]:
    """Fit messages into the model's window; return them and their token count (None when not counted)."""
    reserve = _output_reserve(model, params)
    # A token is at least one byte and the JSON framing outweighs the per-message token framing, so when the
    # serialised messages fit, the tokens fit too: no need to run the tokenizer on the hot path.
    if len(orjson.dumps(messages)) + reserve <= model.context_window:
        return messages, None
    fitted = fit_context(
        messages, model.context_window, reserve, lambda part: count_message_tokens(part, model.remote_name)
    )
    return [dict(message) for message in fitted.messages], fitted.prompt_tokens


def _output_reserve(model: Model, params: Mapping[str, Any]) -> int:
    for name in ("max_completion_tokens", "max_tokens"):
        value = params.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return min(MAX_OUTPUT_RESERVE, model.context_window // 4)
