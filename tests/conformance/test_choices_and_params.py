"""Items 1 and 2: `n` answers charged as n messages (all or none), and every documented parameter reaching the
upstream as sent (legacy functions, tools, JSON mode included), with 400 for what is refused."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import orjson
import pytest

from core.billing.usage import user_usage
from tests.conformance.conftest import CHAT, HELLO, Gate, OpenGate, set_limits
from tests.fakes.openai_upstream import Behaviour, text_of

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
# Every documented Chat Completions parameter a client may send, with values an upstream accepts.
DOCUMENTED: dict[str, Any] = {
    "temperature": 0.3, "top_p": 0.9, "max_tokens": 50, "presence_penalty": 0.1, "frequency_penalty": 0.2,
    "stop": ["\n\n"], "seed": 7, "logit_bias": {"50256": -100}, "logprobs": True, "top_logprobs": 2,
    "user": "u-1", "response_format": {"type": "text"}, "tools": [WEATHER], "tool_choice": "none",
    "parallel_tool_calls": False, "reasoning_effort": "low", "modalities": ["text"], "verbosity": "low",
    "prediction": {"type": "content", "content": "Hi"}, "n": 1, "metadata": {"team": "qa"}, "store": False,
    "service_tier": "auto", "prompt_cache_key": "k-1", "prompt_cache_retention": "24h",
    "safety_identifier": "s-1", "web_search_options": {"search_context_size": "low"},
    "audio": {"voice": "alloy", "format": "wav"},
}  # fmt: skip


async def test_n_answers_come_back_and_cost_n_messages(gate: Gate) -> None:
    async with gate.aio() as client:
        completion = await client.chat.completions.create(model=CHAT, messages=HELLO, n=3)
        stream = await client.chat.completions.create(
            model=CHAT, messages=HELLO, n=2, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
    assert [choice.index for choice in completion.choices] == [0, 1, 2]
    assert all(choice.message.content == text_of(8) for choice in completion.choices)
    streamed: dict[int, str] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            streamed[choice.index] = streamed.get(choice.index, "") + (choice.delta.content or "")
    assert streamed == {0: text_of(8), 1: text_of(8)}
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 16
    assert [request.body["n"] for request in gate.fake.chat_requests] == [3, 2]
    assert await gate.window() == 5  # 3 + 2 messages
    rows = await user_usage(gate.store, gate.user.id, 1, gate.services.clock())
    assert rows[0].requests == 5 and rows[0].completion_tokens == 8 * 3 + 16


async def test_n_is_all_or_nothing_and_refused_where_the_plan_says_so(gate: Gate) -> None:
    await set_limits(gate.store, limit=4)
    too_many = await gate.sync(lambda c: _refusal(c, n=5))
    assert isinstance(too_many, openai.BadRequestError) and too_many.code == "plan_cap_exceeded"
    assert too_many.param == "n" and "at most 4" in too_many.message
    status, _, _ = await gate.http("POST", "/v1/chat/completions", json={"model": CHAT, "messages": HELLO, "n": 3})
    assert status == 200
    full = await gate.sync(lambda c: _refusal(c, n=2))  # one message left: two cannot be taken
    assert isinstance(full, openai.RateLimitError) and full.code == "rate_limit_exceeded"
    assert await gate.window() == 3 and len(gate.fake.chat_requests) == 1


def _refusal(client: openai.OpenAI, **params: Any) -> openai.APIStatusError:
    try:
        client.chat.completions.create(model=CHAT, messages=HELLO, **params)
    except openai.APIStatusError as error:
        return error
    raise AssertionError("the call was not refused")


async def test_concurrent_n_calls_never_overshoot_the_window(gate: Gate) -> None:
    await set_limits(gate.store, limit=10)
    body = {"model": CHAT, "messages": HELLO, "n": 3}
    results = await asyncio.gather(*(gate.http("POST", "/v1/chat/completions", json=body) for _ in range(12)))
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200] * 3 + [429] * 9  # 3 calls x 3 messages fit in 10; the 4th would need 12
    assert await gate.window() == 9 and len(gate.fake.chat_requests) == 3


async def test_every_documented_parameter_reaches_the_upstream_as_sent(gate: Gate) -> None:
    gate.fake.behaviour = Behaviour(echo=True)
    async with gate.aio() as client:
        completion = await client.chat.completions.create(model=CHAT, messages=HELLO, **DOCUMENTED)
    echoed = orjson.loads(completion.choices[0].message.content or "")
    for name, value in DOCUMENTED.items():
        assert echoed[name] == value, name
    status, _, _ = await gate.http(
        "POST", "/v1/chat/completions", json={"model": CHAT, "messages": HELLO, "stream": True,
                                              "stream_options": {"include_usage": True, "include_obfuscation": False},
                                              **DOCUMENTED},
    )  # fmt: skip
    assert status == 200
    sent = gate.fake.chat_requests[-1].body
    assert sent["stream_options"] == {"include_usage": True, "include_obfuscation": False}
    assert {name: sent[name] for name in DOCUMENTED} == DOCUMENTED


@pytest.mark.parametrize("extra", [{"foo": 1}, {"stream_options": {"bogus": True}}])
async def test_an_unknown_parameter_is_refused_never_dropped(gate: Gate, extra: dict[str, Any]) -> None:
    async with gate.aio() as client:
        with pytest.raises(openai.BadRequestError) as refused:
            await client.chat.completions.create(model=CHAT, messages=HELLO, extra_body=extra)
    assert refused.value.code == "unknown_parameter" and refused.value.param is not None
    assert gate.fake.chat_requests == [] and await gate.window() == 0


async def test_legacy_functions_are_called_not_answered_in_plain_text(gate: Gate) -> None:
    function = WEATHER["function"]
    completion = await gate.sync(
        lambda c: c.chat.completions.create(
            model=CHAT, messages=[{"role": "user", "content": "Paris"}], functions=[function],
            function_call={"name": "get_weather"},
        )
    )  # fmt: skip
    choice = completion.choices[0]
    assert choice.finish_reason == "function_call" and choice.message.function_call is not None
    assert choice.message.function_call.name == "get_weather"
    assert orjson.loads(choice.message.function_call.arguments) == {"city": "Paris"}
    sent = gate.fake.chat_requests[0].body
    assert sent["functions"] == [function] and sent["function_call"] == {"name": "get_weather"}


async def test_tool_calls_stream_and_their_results_go_back(gate: Gate) -> None:
    question: list[Any] = [{"role": "user", "content": "Tokyo"}]
    async with gate.aio() as client:
        stream = await client.chat.completions.create(model=CHAT, messages=question, tools=[WEATHER], stream=True)
        calls: dict[int, dict[str, str]] = {}
        finish = None
        async for chunk in stream:
            for choice in chunk.choices:
                finish = choice.finish_reason or finish
                for call in choice.delta.tool_calls or []:
                    entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                    entry["id"] += call.id or ""
                    entry["name"] += (call.function.name or "") if call.function else ""
                    entry["arguments"] += (call.function.arguments or "") if call.function else ""
        assert finish == "tool_calls" and calls[0]["name"] == "get_weather"
        assert orjson.loads(calls[0]["arguments"]) == {"city": "Tokyo"}
        tool_call = {"id": calls[0]["id"], "type": "function",
                     "function": {"name": "get_weather", "arguments": calls[0]["arguments"]}}  # fmt: skip
        history: list[Any] = [*question, {"role": "assistant", "content": None, "tool_calls": [tool_call]},
                              {"role": "tool", "tool_call_id": calls[0]["id"], "content": "sunny, 21 C"}]  # fmt: skip
        answer = await client.chat.completions.create(model=CHAT, messages=history, tools=[WEATHER])
    assert answer.choices[0].message.content == " Result: sunny, 21 C"
    assert gate.fake.chat_requests[-1].body["messages"] == history


async def test_json_mode_and_structured_outputs(gate: Gate) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}
    async with gate.aio() as client:
        json_object = await client.chat.completions.create(
            model=CHAT, messages=[{"role": "user", "content": "Reply in JSON"}], response_format={"type": "json_object"}
        )
        form = {"type": "json_schema", "json_schema": {"name": "person", "schema": schema, "strict": True}}
        structured = await client.chat.completions.create(model=CHAT, messages=HELLO, response_format=form)
        with pytest.raises(openai.BadRequestError) as no_json_word:  # the upstream's own refusal, relayed
            await client.chat.completions.create(model=CHAT, messages=HELLO, response_format={"type": "json_object"})
    assert orjson.loads(json_object.choices[0].message.content or "") == {"answer": text_of(8)}
    assert set(orjson.loads(structured.choices[0].message.content or "")) == {"name", "age"}
    assert "json" in no_json_word.value.message.lower() and no_json_word.value.status_code == 400
    assert await gate.window() == 2  # the refused call was given back


async def test_cjk_round_trips_exactly(gate: Gate) -> None:
    gate.fake.behaviour = Behaviour(pieces=("你好", "，世界", "！🌏"))
    text = "请用中文回答：什么是「量子纠缠」？"
    async with gate.aio() as client:
        answer = await client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": text}])
    assert answer.choices[0].message.content == "你好，世界！🌏"
    assert gate.fake.chat_requests[0].body["messages"][0]["content"] == text


async def test_a_second_process_key_first_seen_also_counts_n(open_gate: OpenGate) -> None:
    gate = await open_gate()
    for _ in range(2):  # the first call takes the ordinary path, the second the one-round-trip path
        status, _, _ = await gate.http("POST", "/v1/chat/completions", json={"model": CHAT, "messages": HELLO, "n": 2})
        assert status == 200
    assert await gate.window() == 4
