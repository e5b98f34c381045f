"""Fitting a conversation into a model's context window before it is sent upstream."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.chat.messages import last_user_index
from core.errors import ContextTooLong

Message = Mapping[str, Any]
Counter = Callable[[Sequence[Message]], int]
SYSTEM_ROLES = frozenset({"system", "developer"})


@dataclass(frozen=True)
class FittedContext:
    messages: list[Message]
    prompt_tokens: int
    dropped: int


def fit_context(messages: Sequence[Message], window: int, reserve_for_output: int, count: Counter) -> FittedContext:
    """Keep system prompts and the newest turns that fit in `window - reserve_for_output`; drop the oldest first.

    A turn is a user message with the assistant/tool messages after it, dropped as a whole so a tool result never
    loses the call it answers. The newest user message (and what follows it) is always kept: if even that does
    not fit, raise ContextTooLong. `count(messages)` must count a list the way the upstream bills it.
    """
    base = count([])  # reply priming: the part of count() that is not per message
    cost = [count([message]) - base for message in messages]
    return fit_costs(messages, window - reserve_for_output, base, cost, window)


def fit_costs(
    messages: Sequence[Message], budget: int, base: int, cost: Sequence[int], window: int | None = None
) -> FittedContext:
    """`fit_context` over counts already made: `base` (reply priming) and each message's own tokens."""
    last_user = last_user_index(messages)
    fixed = fixed_indexes(messages)
    used = base + sum(cost[i] for i in fixed)
    if used > budget:
        raise ContextTooLong(
            "The message is too long for this model's context window.",
            prompt_tokens=used,
            context_window=budget if window is None else window,
        )
    kept = set(fixed)
    # Walk turns newest to oldest; stop at the first that does not fit so the kept history stays contiguous.
    for turn in reversed(_turns(messages, last_user)):
        turn_cost = sum(cost[i] for i in turn)
        if used + turn_cost > budget:
            break
        used += turn_cost
        kept.update(turn)
    chosen = [messages[i] for i in sorted(kept)]
    return FittedContext(messages=chosen, prompt_tokens=used, dropped=len(messages) - len(chosen))


def fixed_indexes(messages: Sequence[Message]) -> list[int]:
    """Return the messages fitting never drops: system prompts and the newest user message with what follows."""
    last_user = last_user_index(messages)
    return [i for i, message in enumerate(messages) if message.get("role") in SYSTEM_ROLES or i >= last_user]


def _turns(messages: Sequence[Message], end: int) -> list[list[int]]:
    """Group the non-system message indexes before `end` into turns, each starting at a user message."""
    turns: list[list[int]] = []
    for index in range(end):
        if messages[index].get("role") in SYSTEM_ROLES:
            continue
        if messages[index].get("role") == "user" or not turns:
            turns.append([])
        turns[-1].append(index)
    return turns
