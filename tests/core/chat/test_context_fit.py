"""Fitting a conversation into the model's window: newest turns kept, system prompt kept, oldest dropped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from core.chat.context_fit import fit_context
from core.chat.token_count import count_message_tokens
from core.errors import ContextTooLong, InvalidInput

MODEL = "gpt-4o-mini"


def count(messages: Sequence[Mapping[str, Any]]) -> int:
    return count_message_tokens(messages, MODEL)


def conversation(turns: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are a careful assistant."}]
    for turn in range(turns):
        messages.append({"role": "user", "content": f"Question {turn}: " + "tell me more " * 20})
        messages.append({"role": "assistant", "content": f"Answer {turn}: " + "here is more " * 30})
    messages.append({"role": "user", "content": "And the newest question?"})
    return messages


def test_keeps_the_newest_turns_within_the_window() -> None:
    messages = conversation(30)
    window, reserve = 2_000, 500
    fitted = fit_context(messages, window, reserve, count)
    assert fitted.messages[0] == messages[0]  # the system prompt survives
    assert fitted.messages[-1] == messages[-1]  # and the newest question
    kept_history = fitted.messages[1:]
    assert kept_history == messages[len(messages) - len(kept_history) :]  # a contiguous newest tail
    assert fitted.prompt_tokens == count(fitted.messages) <= window - reserve
    assert fitted.dropped == len(messages) - len(fitted.messages) > 0
    one_more_turn = [messages[0], *messages[len(messages) - len(kept_history) - 2 :]]
    assert count(one_more_turn) > window - reserve  # it kept as much as fits


def test_everything_fits_nothing_dropped() -> None:
    messages = conversation(2)
    fitted = fit_context(messages, 128_000, 4_000, count)
    assert fitted.messages == messages and fitted.dropped == 0


def test_turns_are_dropped_whole_so_tool_results_keep_their_call() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Paris"}'}}
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Weather in Paris? " + "please " * 200},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "assistant", "content": "It is sunny."},
        {"role": "user", "content": "Thanks!"},
    ]
    fitted = fit_context(messages, 150, 50, count)
    assert fitted.messages == [messages[-1]]


def test_newest_message_too_long_raises() -> None:
    messages = [{"role": "system", "content": "Short."}, {"role": "user", "content": "word " * 5_000}]
    with pytest.raises(ContextTooLong) as caught:
        fit_context(messages, 4_096, 1_000, count)
    assert caught.value.data["context_window"] == 4_096


def test_without_a_user_message_it_is_invalid() -> None:
    with pytest.raises(InvalidInput):
        fit_context([{"role": "system", "content": "hi"}], 1_000, 100, count)
