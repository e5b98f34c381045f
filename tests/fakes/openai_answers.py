"""The fake upstream's richer Chat Completions answers, built the way OpenAI builds them (PROTOCOLS.md section 8):

- `n` choices (streamed interleaved, each chunk naming its choice `index`; usage counts every choice);
- tool calls: with `tools` (or the legacy `functions`) and a user turn last, the model calls the tool `tool_choice`
  names (else the first), arguments filled from the tool's JSON schema with the user's words, `finish_reason`
  "tool_calls" (legacy: a `function_call`, "function_call"); after a tool result it answers "Result: <result>";
- JSON mode: `response_format` json_object answers a JSON object (and, as OpenAI does, refuses with 400 when no
  message mentions JSON), json_schema an object with the schema's properties;
- echo: `Behaviour(echo=True)` answers the JSON of every parameter it received except `messages`, so a test through
  a client asserts what reached the upstream.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

JSON_WORD_ERROR = (
    "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'."
)


@dataclass
class Call:
    id: str
    name: str
    pieces: list[str]  # the arguments JSON, in pieces


@dataclass
class Choice:
    index: int
    pieces: list[str] = field(default_factory=list)  # content pieces
    calls: list[Call] = field(default_factory=list)
    legacy: bool = False  # answer with `function_call` (the request used `functions`)
    finish: str = "stop"


@dataclass
class RichAnswer:
    events: list[bytes]  # [role chunk(s), one step per content piece..., finish chunk(s)] for the streaming loop
    completion: dict[str, Any]
    completion_tokens: int


def wants_rich(body: dict[str, Any], echo: bool, choice_pieces: dict[int, tuple[str, ...]]) -> bool:
    """Tell whether a request needs more than the plain numbered-words answer."""
    rich = ("tools", "functions", "response_format")
    return echo or bool(choice_pieces) or (body.get("n") or 1) > 1 or any(body.get(name) for name in rich)


def json_mode_error(body: dict[str, Any]) -> str | None:
    """OpenAI's refusal of json_object mode when no message mentions JSON."""
    form = body.get("response_format") or {}
    if form.get("type") != "json_object":
        return None
    said = orjson.dumps(body.get("messages") or []).decode().lower()
    return None if "json" in said else JSON_WORD_ERROR


def rich_answer(
    model: str, body: dict[str, Any], plain: list[str], echo: bool, choice_pieces: dict[int, tuple[str, ...]],
    prompt_tokens: int,
) -> RichAnswer:  # fmt: skip
    """Build the answer of a request with `n`, tools, functions, a response format or echo."""
    count = int(body.get("n") or 1)
    choices = [_choice(index, body, plain, echo, choice_pieces) for index in range(count)]
    steps = max(len(_steps(choice)) for choice in choices)
    events = [b"".join(_event(model, [_delta(choice)]) for choice in choices)]
    for step in range(steps):
        events.append(
            b"".join(_event(model, [_step(choice, step)]) for choice in choices if step < len(_steps(choice)))
        )
    events.append(b"".join(_event(model, [_finish(choice)]) for choice in choices))
    tokens = sum(len(_steps(choice)) for choice in choices)
    completion = {
        "id": f"chatcmpl-{secrets.token_hex(8)}", "object": "chat.completion", "created": int(time.time()),
        "model": model, "choices": [_message(choice) for choice in choices], "system_fingerprint": "fp_fake",
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": tokens, "total_tokens": prompt_tokens + tokens},
    }  # fmt: skip
    return RichAnswer(events, completion, tokens)


def _choice(
    index: int, body: dict[str, Any], plain: list[str], echo: bool, choice_pieces: dict[int, tuple[str, ...]]
) -> Choice:
    messages = body.get("messages") or [{}]
    last = messages[-1] if isinstance(messages[-1], dict) else {}
    if echo:
        received = {name: value for name, value in body.items() if name != "messages"}
        return Choice(index, [orjson.dumps(received, option=orjson.OPT_SORT_KEYS).decode()])
    if index in choice_pieces:
        return Choice(index, list(choice_pieces[index]))
    if last.get("role") in ("tool", "function"):
        return Choice(index, [" Result:", f" {last.get('content')}"])
    tools = _tools(body)
    choice = body.get("tool_choice") or body.get("function_call")
    if tools and choice != "none":
        return _tool_choice(index, body, tools, choice, _text(last.get("content")))
    form = body.get("response_format") or {}
    if form.get("type") in ("json_object", "json_schema"):
        return Choice(index, _json_pieces(form, plain))
    return Choice(index, list(plain))


def _tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The callable functions: `tools` entries' functions, else the legacy `functions`."""
    tools = [tool.get("function") or {} for tool in body.get("tools") or [] if isinstance(tool, dict)]
    return tools or [function for function in body.get("functions") or [] if isinstance(function, dict)]


def _tool_choice(index: int, body: dict[str, Any], tools: list[dict[str, Any]], choice: Any, said: str) -> Choice:
    named = choice.get("function", choice).get("name") if isinstance(choice, dict) else None
    tool = next((tool for tool in tools if tool.get("name") == named), tools[0])
    arguments = orjson.dumps(_fill(tool.get("parameters") or {}, said)).decode()
    third = max(1, len(arguments) // 3)
    pieces = [arguments[:third], arguments[third : 2 * third], arguments[2 * third :]]
    call = Call(f"call_{secrets.token_hex(6)}", str(tool.get("name")), [piece for piece in pieces if piece])
    legacy = not body.get("tools")
    return Choice(index, calls=[call], legacy=legacy, finish="function_call" if legacy else "tool_calls")


def _fill(schema: dict[str, Any], said: str) -> Any:
    """A value of a JSON schema: strings say what the user said, numbers are 1, booleans true."""
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {name: _fill(sub, said) for name, sub in (schema.get("properties") or {}).items()}
    return {"string": said, "number": 1, "integer": 1, "boolean": True, "array": []}.get(str(kind))


def _json_pieces(form: dict[str, Any], plain: list[str]) -> list[str]:
    schema = (form.get("json_schema") or {}).get("schema") or {}
    value = _fill(schema, "".join(plain).strip()) if form.get("type") == "json_schema" else {"answer": "".join(plain)}
    text = orjson.dumps(value).decode()
    return [text[: len(text) // 2], text[len(text) // 2 :]]


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")


def _steps(choice: Choice) -> list[str]:
    return choice.calls[0].pieces if choice.calls else choice.pieces


def _delta(choice: Choice) -> dict[str, Any]:
    delta: dict[str, Any] = {"role": "assistant", "content": "" if not choice.calls else None, "refusal": None}
    if choice.calls and not choice.legacy:
        delta["tool_calls"] = [
            {"index": i, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
            for i, call in enumerate(choice.calls)
        ]
    elif choice.calls:
        delta["function_call"] = {"name": choice.calls[0].name, "arguments": ""}
    return {"index": choice.index, "delta": delta, "logprobs": None, "finish_reason": None}


def _step(choice: Choice, step: int) -> dict[str, Any]:
    piece = _steps(choice)[step]
    if not choice.calls:
        delta: dict[str, Any] = {"content": piece}
    elif choice.legacy:
        delta = {"function_call": {"arguments": piece}}
    else:
        delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
    return {"index": choice.index, "delta": delta, "logprobs": None, "finish_reason": None}


def _finish(choice: Choice) -> dict[str, Any]:
    return {"index": choice.index, "delta": {}, "logprobs": None, "finish_reason": choice.finish}


def _message(choice: Choice) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": "".join(choice.pieces) if not choice.calls else None,
                               "refusal": None}  # fmt: skip
    if choice.calls and not choice.legacy:
        message["tool_calls"] = [{"id": call.id, "type": "function",
                                  "function": {"name": call.name, "arguments": "".join(call.pieces)}}
                                 for call in choice.calls]  # fmt: skip
    elif choice.calls:
        message["function_call"] = {"name": choice.calls[0].name, "arguments": "".join(choice.calls[0].pieces)}
    return {"index": choice.index, "message": message, "logprobs": None, "finish_reason": choice.finish}


def _event(model: str, choices: list[dict[str, Any]]) -> bytes:
    chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
             "system_fingerprint": "fp_fake", "choices": choices, "usage": None}  # fmt: skip
    return b"data: " + orjson.dumps(chunk) + b"\n\n"
