"""A call's prompt: fitted into the model's window and the plan's prompt cap, its output bounded by the plan, and its
token estimate for a daily cap.

Cheap bounds come before the tokenizer. A token is at least one byte and the JSON framing outweighs the per-message
token framing, so messages whose JSON fits need no count. A token is at most MAX_TOKEN_BYTES bytes (so at most that
many characters), so messages whose kept part has more characters than MAX_TOKEN_BYTES per token of room cannot fit
whatever the tokenizer would say. Only what lies between is counted: once per message per request (the counts are
kept on the request, so the /v1 fast path and the ordinary path share them), in the token pool when it is big
(core.chat.token_pool), never on the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from core.billing.plans import Plan
from core.chat.context_fit import fit_costs, fixed_indexes
from core.chat.params import choices_of
from core.chat.token_count import encoding_name_for, message_costs
from core.chat.token_pool import TokenPool, text_size
from core.errors import ContextTooLong, CoreError, PlanCapExceeded
from core.relay.catalogue import Model

MAX_TOKEN_BYTES = 128  # the longest token of cl100k_base and o200k_base (tests/core/chat/test_prompt.py checks it)
MAX_OUTPUT_RESERVE = 4096  # room kept for the answer when neither the client nor the plan sets a maximum
OUTPUT_PARAMS = ("max_completion_tokens", "max_tokens")

Counts = dict[str, tuple[int, list[int]]]  # one request's token counts: encoding -> (reply priming, per message)


@dataclass(frozen=True)
class Prompt:
    """The messages to send, their token count (None: not counted, the byte bound showed they fit) and the most
    output tokens the call may use (all its `n` answers together)."""

    messages: list[dict[str, Any]]
    tokens: int | None
    output: int

    @property
    def estimate(self) -> int:
        """The tokens the call may use at most: the counted prompt plus its maximum output."""
        return (self.tokens or 0) + self.output


def requested_output(params: Mapping[str, Any]) -> tuple[str, int] | None:
    """Return the output maximum the client asked for (parameter name, value), if any."""
    for name in OUTPUT_PARAMS:
        value = params.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return name, value
    return None


def output_tokens(model: Model, params: Mapping[str, Any], plan: Plan | None = None) -> int:
    """Return the most output tokens one answer of the call may use; PlanCapExceeded when the client asks more than
    the plan allows."""
    asked = requested_output(params)
    cap = plan.max_tokens if plan else None
    if asked is not None:
        name, value = asked
        if plan is not None and cap is not None and value > cap:
            raise PlanCapExceeded(
                f"{name} is {value}, but the {plan.title} plan allows at most {cap} per request.",
                field=name,
                limit=cap,
                plan=plan.name,
            )
        return value
    default = min(MAX_OUTPUT_RESERVE, model.context_window // 4)
    return min(default, cap) if cap else default


def upstream_params(params: Mapping[str, Any], plan: Plan | None) -> dict[str, Any]:
    """Return the params to send upstream: the client's, plus the plan's max_tokens when the client set no maximum."""
    if plan is not None and plan.max_tokens and requested_output(params) is None:
        return {**params, "max_tokens": plan.max_tokens}
    return dict(params)


async def fit_prompt(
    pool: TokenPool,
    model: Model,
    messages: list[dict[str, Any]],
    params: Mapping[str, Any],
    *,
    plan: Plan | None = None,
    count: bool = False,
    counts: Counts | None = None,
    trim: bool = True,
) -> Prompt:
    """Fit messages into the model's window (and the plan's prompt cap), dropping the oldest turns first.

    `count`: the token count is needed (a daily-cap estimate) even when the byte bound shows the messages fit.
    `counts`: the request's memo, filled by the first fit and reused by the next (None: not kept).
    `trim`: drop older turns that do not fit (a conversation); False forwards the messages as sent or refuses them
    (an API caller's request, as OpenAI answers it).
    Raises ContextTooLong, or PlanCapExceeded when only the plan's cap is exceeded.
    """
    output = output_tokens(model, params, plan)
    total_output = output * choices_of(params)  # each of the `n` answers may be that long
    room = model.context_window - output
    cap = plan.max_prompt_tokens if plan else None
    budget = min(room, cap) if cap else room
    fits = len(orjson.dumps(messages)) <= budget
    if fits and not count:
        return Prompt(messages, None, total_output)
    if not fits:
        kept = fixed_indexes(messages) if trim else range(len(messages))
        at_least = sum(text_size([messages[i]]) for i in kept) // MAX_TOKEN_BYTES
        if at_least > budget:
            raise _too_long(model, plan, at_least, room, bound=True)
    base, costs = await _costs(pool, model, messages, counts)
    tokens = base + sum(costs)
    if fits or (not trim and tokens <= budget):
        return Prompt(messages, tokens, total_output)
    if not trim:
        raise _too_long(model, plan, tokens, room)
    try:
        fitted = fit_costs(messages, budget, base, costs, model.context_window)
    except ContextTooLong as error:
        raise _too_long(model, plan, int(error.data["prompt_tokens"]), room) from None
    return Prompt([dict(message) for message in fitted.messages], fitted.prompt_tokens, total_output)


async def _costs(
    pool: TokenPool, model: Model, messages: list[dict[str, Any]], counts: Counts | None
) -> tuple[int, list[int]]:
    encoding = encoding_name_for(model.remote_name)
    known = counts.get(encoding) if counts is not None else None
    if known is None:
        known = await pool.run(text_size(messages), message_costs, messages, model.remote_name)
        if counts is not None:
            counts[encoding] = known
    return known


def _too_long(model: Model, plan: Plan | None, tokens: int, room: int, *, bound: bool = False) -> CoreError:
    """The error for a prompt of `tokens` tokens (at least, with `bound`): the model's window, else the plan's cap."""
    cap = plan.max_prompt_tokens if plan else None
    if plan is not None and cap is not None and tokens <= room:
        return PlanCapExceeded(
            f"The prompt is {tokens} tokens, but the {plan.title} plan allows at most {cap} per request.",
            field="messages",
            limit=cap,
            plan=plan.name,
            prompt_tokens=tokens,
        )
    return ContextTooLong(
        f"This model's maximum context length is {model.context_window} tokens, {model.context_window - room} of them "
        f"kept for the answer. However, your messages resulted in {'at least ' if bound else ''}{tokens} tokens. "
        "Please reduce the length of the messages.",
        prompt_tokens=tokens,
        context_window=model.context_window,
    )
