"""The parameters of an OpenAI Chat Completions request: every documented one is passed through to the upstream,
anything else is refused (400 `unknown_parameter`, as OpenAI answers), never dropped without a word.

ChatGate reads `model`, `messages`, `stream` and `stream_options` itself (the relay sets the model name, streaming
and the usage chunk upstream; `stream_options.include_obfuscation` is passed on). The values of the parameters it
knows the meaning of are checked (InvalidInput naming the field); a `null` is passed on as sent (OpenAI reads it as
"the default").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.errors import InvalidInput, UnknownParameter

# Documented Chat Completions parameters (platform.openai.com/docs/api-reference/chat/create) sent upstream as given.
PASSTHROUGH_PARAMS = frozenset(
    {
        "temperature", "top_p", "max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty",
        "stop", "seed", "logit_bias", "logprobs", "top_logprobs", "user", "response_format", "tools",
        "tool_choice", "parallel_tool_calls", "reasoning_effort", "modalities", "prediction", "verbosity", "n",
        "functions", "function_call", "metadata", "store", "service_tier", "prompt_cache_key",
        "prompt_cache_retention", "safety_identifier", "web_search_options", "audio",
    }
)  # fmt: skip
OWN_PARAMS = frozenset({"model", "messages", "stream", "stream_options"})  # read by ChatGate itself
MAX_CHOICES = 128  # OpenAI's bound on `n`
STREAM_OPTIONS = frozenset({"include_usage", "include_obfuscation"})


def passthrough_params(body: Mapping[str, Any]) -> dict[str, Any]:
    """Return the parameters to send upstream; UnknownParameter for one the API does not document."""
    params: dict[str, Any] = {}
    for name, value in body.items():
        if name in PASSTHROUGH_PARAMS:
            params[name] = value
        elif name not in OWN_PARAMS:
            raise UnknownParameter(f"Unrecognized request argument supplied: {name}", field=name)
    check_params(params)
    return params


def read_stream_options(body: Mapping[str, Any]) -> tuple[bool, dict[str, Any]]:
    """Return (include_usage, the options to pass on upstream) of `stream_options` (meaningless, and so harmless,
    on a call that does not stream)."""
    options = body.get("stream_options")
    if options is None:
        return False, {}
    if not isinstance(options, dict):
        raise InvalidInput("Invalid value for 'stream_options': expected an object.", field="stream_options")
    for name, value in options.items():
        if name not in STREAM_OPTIONS:
            raise UnknownParameter(f"Unrecognized request argument supplied: stream_options.{name}",
                                   field=f"stream_options.{name}")  # fmt: skip
        if value is not None and not isinstance(value, bool):
            raise InvalidInput(f"Invalid value for 'stream_options.{name}': expected a boolean.",
                               field=f"stream_options.{name}")  # fmt: skip
    kept = {name: value for name, value in options.items() if name != "include_usage" and value is not None}
    return options.get("include_usage") is True, kept


def choices_of(params: Mapping[str, Any]) -> int:
    """Return how many answers (`n`) the call asks for."""
    value = params.get("n")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 1


def check_params(params: Mapping[str, Any]) -> None:
    """Check the types and ranges of the passthrough parameters (InvalidInput naming the field)."""
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


def _objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _metadata(value: Any) -> bool:
    return isinstance(value, dict) and len(value) <= 16 and all(isinstance(v, str) for v in value.values())


def _is(*kinds: type) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, kinds) and not (isinstance(v, bool) and bool not in kinds)


PARAM_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "temperature": (_number(0, 2), "a number from 0 to 2"),
    "top_p": (_number(0, 1), "a number from 0 to 1"),
    "presence_penalty": (_number(-2, 2), "a number from -2 to 2"),
    "frequency_penalty": (_number(-2, 2), "a number from -2 to 2"),
    "max_tokens": (_integer(1), "a positive integer"),
    "max_completion_tokens": (_integer(1), "a positive integer"),
    "n": (_integer(1, MAX_CHOICES), f"an integer from 1 to {MAX_CHOICES}"),
    "seed": (_integer(-(2**63)), "an integer"),
    "top_logprobs": (_integer(0, 20), "an integer from 0 to 20"),
    "stop": (_stop, "a string or an array of at most 4 strings"),
    "logprobs": (_is(bool), "a boolean"),
    "parallel_tool_calls": (_is(bool), "a boolean"),
    "store": (_is(bool), "a boolean"),
    "user": (_is(str), "a string"),
    "service_tier": (_is(str), "a string"),
    "prompt_cache_key": (_is(str), "a string"),
    "prompt_cache_retention": (_is(str), "a string"),
    "safety_identifier": (_is(str), "a string"),
    "reasoning_effort": (_is(str), "a string"),
    "verbosity": (_is(str), "a string"),
    "tools": (_objects, "an array of objects"),
    "functions": (_objects, "an array of objects"),
    "tool_choice": (_is(str, dict), "a string or an object"),
    "function_call": (_is(str, dict), "a string or an object"),
    "response_format": (_is(dict), "an object"),
    "logit_bias": (_is(dict), "an object"),
    "metadata": (_metadata, "an object of at most 16 string values"),
    "web_search_options": (_is(dict), "an object"),
    "audio": (_is(dict), "an object"),
    "prediction": (_is(dict), "an object"),
    "modalities": (lambda v: isinstance(v, list) and all(isinstance(m, str) for m in v), "an array of strings"),
}
