"""Item 9, second part: `POST /v1/responses` (the Responses API newer SDKs and agent tools call), stateless, over
the chat path: text, instructions, streamed events, function tools and their results, JSON formats, refusals of
what needs stored state, and the same key, plan, quota and headers as /v1/chat/completions."""

from __future__ import annotations

from typing import Any

import openai
import orjson
import pytest

from tests.conformance.conftest import CHAT, OUTSIDE, Gate, set_limits
from tests.fakes.openai_upstream import text_of

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


async def test_a_text_response_through_both_sdks(gate: Gate) -> None:
    async with gate.aio() as client:
        answer = await client.responses.create(model=CHAT, input="Hello", instructions="Be brief.")
    again = await gate.sync(lambda c: c.responses.create(model=CHAT, input="Hello again", max_output_tokens=50))
    assert answer.status == "completed" and answer.output_text == text_of(8) and answer.model == CHAT
    assert answer.instructions == "Be brief." and answer.usage is not None and answer.usage.output_tokens == 8
    assert again.output_text == text_of(8) and again.max_output_tokens == 50
    first, second = (request.body for request in gate.fake.chat_requests)
    assert first["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]
    assert second["max_tokens"] == 50 and second["messages"] == [{"role": "user", "content": "Hello again"}]
    assert await gate.window() == 2


async def test_streamed_events_in_order_with_the_whole_text(gate: Gate) -> None:
    async with gate.aio() as client:
        stream = await client.responses.create(model=CHAT, input=[{"role": "user", "content": "Hi"}], stream=True)
        events = [event async for event in stream]
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    deltas = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert deltas == text_of(8)
    done = next(event for event in events if event.type == "response.output_text.done")
    assert done.text == text_of(8)
    numbers = [event.sequence_number for event in events]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    final = events[-1].response  # type: ignore[union-attr]
    assert final.output_text == text_of(8) and final.usage is not None and final.usage.output_tokens == 8
    assert gate.fake.chat_requests[0].body["stream"] is True


async def test_function_calls_and_their_outputs_go_back(gate: Gate) -> None:
    async with gate.aio() as client:
        first = await client.responses.create(model=CHAT, input="Tokyo", tools=[WEATHER_TOOL])  # type: ignore[list-item]
        (call,) = [item for item in first.output if item.type == "function_call"]
        assert call.name == "get_weather" and orjson.loads(call.arguments) == {"city": "Tokyo"}
        follow_up: list[Any] = [
            {"role": "user", "content": "Tokyo"},
            {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21 C"},
        ]
        second = await client.responses.create(model=CHAT, input=follow_up, tools=[WEATHER_TOOL])  # type: ignore[list-item]
    assert second.output_text == " Result: sunny, 21 C"
    sent = gate.fake.chat_requests[0].body
    assert sent["tools"] == [{"type": "function", "function": {k: v for k, v in WEATHER_TOOL.items() if k != "type"}}]
    history = gate.fake.chat_requests[1].body["messages"]
    assert [message["role"] for message in history] == ["user", "assistant", "tool"]
    assert history[1]["tool_calls"][0]["id"] == call.call_id and history[2]["content"] == "sunny, 21 C"


async def test_json_formats_reach_the_upstream(gate: Gate) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}
    async with gate.aio() as client:
        as_json = await client.responses.create(
            model=CHAT, input="Reply in JSON", text={"format": {"type": "json_object"}}
        )
        structured = await client.responses.create(
            model=CHAT, input="Hello", text={"format": {"type": "json_schema", "name": "person", "schema": schema}}
        )
    assert orjson.loads(as_json.output_text) == {"answer": text_of(8)}
    assert set(orjson.loads(structured.output_text)) == {"name", "age"}
    formats = [request.body["response_format"]["type"] for request in gate.fake.chat_requests]
    assert formats == ["json_object", "json_schema"]


async def test_what_needs_stored_state_or_is_unknown_is_refused(gate: Gate) -> None:
    async with gate.aio() as client:
        with pytest.raises(openai.BadRequestError) as previous:
            await client.responses.create(model=CHAT, input="Hi", previous_response_id="resp_123")
        with pytest.raises(openai.BadRequestError) as unknown:
            await client.responses.create(model=CHAT, input="Hi", extra_body={"frobnicate": 1})
        with pytest.raises(openai.BadRequestError) as hosted:
            await client.responses.create(model=CHAT, input="Hi", tools=[{"type": "web_search"}])
        with pytest.raises(openai.NotFoundError) as outside:
            await client.responses.create(model=OUTSIDE, input="Hi")
    assert previous.value.code == "unsupported_parameter" and previous.value.param == "previous_response_id"
    assert unknown.value.code == "unknown_parameter" and unknown.value.param == "frobnicate"
    assert hosted.value.status_code == 400
    assert outside.value.code == "model_not_found"
    assert gate.fake.requests == [] and await gate.window() == 0


async def test_quota_and_headers_are_those_of_chat_completions(gate: Gate) -> None:
    await set_limits(gate.store, limit=1)
    async with gate.aio() as client:
        raw = await client.responses.with_raw_response.create(model=CHAT, input="Hi")
        with pytest.raises(openai.RateLimitError) as over:
            await client.responses.create(model=CHAT, input="Hi again")
    assert raw.headers["x-ratelimit-limit-requests"] == "1" and raw.headers["x-ratelimit-remaining-requests"] == "0"
    assert raw.headers["x-request-id"]
    assert over.value.status_code == 429 and over.value.response.headers["retry-after-ms"]
    assert len(gate.fake.chat_requests) == 1 and await gate.window() == 1
