"""The Responses API (`POST /v1/responses`, what newer OpenAI SDKs and agent tools call), stateless: a request is
turned into a Chat Completions call (the same key, plan, quota, moderation and upstreams as /v1/chat/completions)
and its answer back into a Response (core.chat.responses_events).

Supported: text and image input (a string or message items with input_text / input_image / output_text parts),
`instructions`, function tools with `function_call` / `function_call_output` items, `tool_choice`,
`text.format` (text, json_object, json_schema) and `text.verbosity`, `reasoning.effort`, `max_output_tokens`,
sampling, `metadata`, `user`, `truncation` ("auto" drops the oldest turns that do not fit, "disabled" refuses).
ChatGate keeps no responses, so what needs stored state is refused with 400 `unsupported_parameter`:
`previous_response_id`, `conversation`, `prompt`, `background`, `store: true`, item references; so are hosted
tools (web search, file search, ...) and parameters a Chat Completions upstream cannot honour. Reasoning items a
client sends back are skipped (a chat upstream has no use for them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.chat.request import ChatRequest
from core.errors import InvalidInput, UnknownParameter, UnsupportedParameter

# Parameters passed on to the chat call under the same name.
SAME_NAME = ("temperature", "top_p", "parallel_tool_calls", "metadata", "user", "service_tier", "prompt_cache_key",
             "safety_identifier")  # fmt: skip
KNOWN = frozenset(
    {*SAME_NAME, "model", "input", "instructions", "tools", "tool_choice", "max_output_tokens", "stream", "text",
     "reasoning", "truncation", "store", "include", "previous_response_id", "conversation", "background", "prompt",
     "max_tool_calls", "top_logprobs", "stream_options"}
)  # fmt: skip
ECHOED = ("instructions", "max_output_tokens", "metadata", "user", "tools", "tool_choice", "temperature", "top_p",
          "parallel_tool_calls")  # fmt: skip
STATEFUL = ("previous_response_id", "conversation", "prompt")
HARMLESS_INCLUDES = frozenset({"reasoning.encrypted_content"})  # no reasoning items are produced: nothing to include


@dataclass(frozen=True)
class ResponsesCall:
    """A Responses request as a chat call, plus what the Response object echoes back."""

    chat: ChatRequest
    echo: dict[str, Any] = field(default_factory=dict)


def responses_call(body: Mapping[str, Any]) -> ResponsesCall:
    """Read a Responses request body; InvalidInput / UnknownParameter / UnsupportedParameter naming the field."""
    for name in body:
        if name not in KNOWN:
            raise UnknownParameter(f"Unknown parameter: '{name}'.", field=name)
    _refuse_state(body)
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InvalidInput("you must provide a model parameter", field="model")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise InvalidInput("stream must be a boolean", field="stream")
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise InvalidInput("instructions must be a string", field="instructions")
    messages = ([{"role": "system", "content": instructions}] if instructions else []) + input_messages(
        body.get("input")
    )
    params = {name: body[name] for name in SAME_NAME if body.get(name) is not None}
    params.update(_tool_params(body))
    params.update(_text_params(body.get("text")))
    if body.get("max_output_tokens") is not None:
        params["max_tokens"] = body["max_output_tokens"]
    reasoning = body.get("reasoning")
    if reasoning is not None and not isinstance(reasoning, dict):
        raise InvalidInput("reasoning must be an object", field="reasoning")
    if reasoning and reasoning.get("effort") is not None:
        params["reasoning_effort"] = reasoning["effort"]
    truncation = body.get("truncation") or "disabled"
    if truncation not in ("auto", "disabled"):
        raise InvalidInput("truncation must be 'auto' or 'disabled'", field="truncation")
    base = ChatRequest.from_openai({"model": model, "messages": messages, **params})  # checks the params too
    chat = ChatRequest(model=base.model, messages=base.messages, stream=bool(stream), params=base.params,
                       include_usage=True, trim=truncation == "auto")  # fmt: skip
    echo = {name: body.get(name) for name in ECHOED}
    echo.update(model=model, truncation=truncation, reasoning=reasoning, text=body.get("text"))
    return ResponsesCall(chat, echo)


def _refuse_state(body: Mapping[str, Any]) -> None:
    for name in STATEFUL:
        if body.get(name) is not None:
            raise UnsupportedParameter(f"'{name}' needs a stored response; ChatGate's Responses API is stateless: "
                                       "send the whole input each time.", field=name)  # fmt: skip
    if body.get("store") is True:
        raise UnsupportedParameter("ChatGate keeps no responses: send store: false (or leave it out).", field="store")
    if body.get("background") is True:
        raise UnsupportedParameter("Background responses are not supported.", field="background")
    for name in ("max_tool_calls", "top_logprobs"):
        if body.get(name) is not None:
            raise UnsupportedParameter(f"'{name}' is not supported.", field=name)
    include = body.get("include") or []
    if not isinstance(include, list) or any(item not in HARMLESS_INCLUDES for item in include):
        raise UnsupportedParameter("include may only list reasoning.encrypted_content.", field="include")
    options = body.get("stream_options")
    if options is not None and (not isinstance(options, dict) or set(options) - {"include_obfuscation"}):
        raise UnsupportedParameter("stream_options may only set include_obfuscation.", field="stream_options")


def input_messages(value: Any) -> list[dict[str, Any]]:
    """Turn Responses `input` (a string or a list of items) into Chat Completions messages."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise InvalidInput("input must be a string or a non-empty array of items", field="input")
    messages: list[dict[str, Any]] = []
    for index, item in enumerate(value):
        where = f"input[{index}]"
        if not isinstance(item, dict):
            raise InvalidInput(f"{where} must be an object", field=where)
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            messages.append(_message(item, where))
        elif kind == "function_call":
            _add_call(messages, item, where)
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": _text(item, "call_id", where),
                             "content": _output_text(item.get("output"), where)})  # fmt: skip
        elif kind != "reasoning":  # reasoning items carry nothing a chat upstream reads
            raise UnsupportedParameter(f"{where}: input items of type '{kind}' are not supported.", field=where)
    return messages


def _message(item: Mapping[str, Any], where: str) -> dict[str, Any]:
    role = item.get("role")
    if role not in ("user", "system", "developer", "assistant"):
        raise InvalidInput(f"{where}.role must be user, system, developer or assistant", field=f"{where}.role")
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list):
        raise InvalidInput(f"{where}.content must be a string or an array of parts", field=f"{where}.content")
    parts = [_part(part, f"{where}.content[{i}]") for i, part in enumerate(content)]
    if role == "assistant" or all(part["type"] == "text" for part in parts):
        return {"role": role, "content": "".join(part.get("text", "") for part in parts)}
    return {"role": role, "content": parts}


def _part(part: Any, where: str) -> dict[str, Any]:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in ("input_text", "output_text"):
        return {"type": "text", "text": _text(part, "text", where)}
    if kind == "refusal":
        return {"type": "text", "text": _text(part, "refusal", where)}
    if kind == "input_image" and isinstance(part.get("image_url"), str):
        image = {"url": part["image_url"], **({"detail": part["detail"]} if part.get("detail") else {})}
        return {"type": "image_url", "image_url": image}
    raise UnsupportedParameter(f"{where}: content parts of type '{kind}' are not supported (file ids and files "
                               "need stored state).", field=where)  # fmt: skip


def _add_call(messages: list[dict[str, Any]], item: Mapping[str, Any], where: str) -> None:
    """Add a function call to the assistant turn it belongs to (parallel calls share one assistant message)."""
    function = {"name": _text(item, "name", where), "arguments": _text(item, "arguments", where, "")}
    call = {"id": _text(item, "call_id", where), "type": "function", "function": function}
    last = messages[-1] if messages else None
    if last is not None and last["role"] == "assistant" and isinstance(last.get("content"), str | None):
        last.setdefault("tool_calls", []).append(call)
        if last.get("content") == "":
            last["content"] = None
    else:
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _output_text(output: Any, where: str) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "".join(_text(part, "text", where) for part in output if isinstance(part, dict))
    raise InvalidInput(f"{where}.output must be a string", field=f"{where}.output")


def _text(item: Mapping[str, Any], name: str, where: str, default: str | None = None) -> str:
    value = item.get(name, default)
    if not isinstance(value, str):
        raise InvalidInput(f"{where}.{name} must be a string", field=f"{where}.{name}")
    return value


def _tool_params(body: Mapping[str, Any]) -> dict[str, Any]:
    """Function tools and tool_choice in Chat Completions' shape; hosted tools are refused."""
    params: dict[str, Any] = {}
    tools = body.get("tools")
    if tools:
        if not isinstance(tools, list):
            raise InvalidInput("tools must be an array", field="tools")
        converted = []
        for index, tool in enumerate(tools):
            if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(tool.get("name"), str):
                kind = tool.get("type") if isinstance(tool, dict) else None
                raise UnsupportedParameter(f"tools[{index}]: only function tools are supported (not '{kind}').",
                                           field=f"tools[{index}]")  # fmt: skip
            function = {key: tool[key] for key in ("name", "description", "parameters", "strict") if key in tool}
            converted.append({"type": "function", "function": function})
        params["tools"] = converted
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        if choice.get("type") != "function" or not isinstance(choice.get("name"), str):
            raise UnsupportedParameter("tool_choice may name a function tool only.", field="tool_choice")
        params["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    elif choice is not None:
        params["tool_choice"] = choice
    return params


def _text_params(text: Any) -> dict[str, Any]:
    """`text.format` as `response_format`, `text.verbosity` as `verbosity`."""
    if text is None:
        return {}
    if not isinstance(text, dict):
        raise InvalidInput("text must be an object", field="text")
    params: dict[str, Any] = {}
    if text.get("verbosity") is not None:
        params["verbosity"] = text["verbosity"]
    form = text.get("format")
    if form is None or (isinstance(form, dict) and form.get("type") == "text"):
        return params
    if isinstance(form, dict) and form.get("type") == "json_object":
        return {**params, "response_format": {"type": "json_object"}}
    if isinstance(form, dict) and form.get("type") == "json_schema" and isinstance(form.get("schema"), dict):
        schema = {key: form[key] for key in ("name", "schema", "strict", "description") if key in form}
        return {**params, "response_format": {"type": "json_schema", "json_schema": schema}}
    raise InvalidInput("text.format must be text, json_object or json_schema (with a schema)", field="text.format")
