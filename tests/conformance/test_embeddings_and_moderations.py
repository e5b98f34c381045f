"""Item 9, first part: `POST /v1/embeddings` and `POST /v1/moderations` behind the same key, plan and quota,
relayed to the upstreams of models marked as serving them."""

from __future__ import annotations

import base64
import struct

import openai
import pytest

from core.billing.usage import user_usage
from core.days import day_stamp
from core.moderation import set_words
from tests.conformance.conftest import CHAT, EMBED, HELLO, MODERATE, OUTSIDE, Gate, OpenGate, set_limits
from tests.fakes.openai_upstream import Behaviour


async def test_embeddings_through_both_sdks(gate: Gate) -> None:
    async with gate.aio() as client:
        one = await client.embeddings.create(model=EMBED, input="The food was delicious")
        many = await client.embeddings.create(model=EMBED, input=["first text", "second one here"], dimensions=4)
    packed = await gate.sync(lambda c: c.embeddings.create(model=EMBED, input="as base64", encoding_format="base64"))
    assert len(one.data) == 1 and len(one.data[0].embedding) == 8 and one.usage.prompt_tokens == 4
    assert [item.index for item in many.data] == [0, 1] and all(len(item.embedding) == 4 for item in many.data)
    raw: object = packed.data[0].embedding  # read as sent: dumping would re-validate a base64 string as floats
    floats = struct.unpack("<8f", base64.b64decode(raw)) if isinstance(raw, str) else raw
    assert len(floats) == 8  # the SDK may decode base64 itself; either way the vector arrived
    sent = [request.body for request in gate.fake.requests if request.path == "/v1/embeddings"]
    assert sent[1]["input"] == ["first text", "second one here"] and sent[1]["dimensions"] == 4
    assert sent[2]["encoding_format"] == "base64"
    assert await gate.window(EMBED) == 3
    rows = {row.model: row for row in await user_usage(gate.store, gate.user.id, 1, gate.services.clock())}
    assert rows[EMBED].requests == 3 and rows[EMBED].prompt_tokens == 4 + 5 + 2


async def test_moderations_through_the_sdk(gate: Gate) -> None:
    async with gate.aio() as client:
        verdict = await client.moderations.create(model=MODERATE, input=["I will kill the process", "hello"])
        default = await client.moderations.create(input="a friendly note")  # no model: the plan's moderation model
    assert [result.flagged for result in verdict.results] == [True, False]
    assert verdict.results[0].categories.violence is True
    assert default.model == MODERATE and default.results[0].flagged is False
    assert await gate.window(MODERATE) == 2


async def test_models_serve_only_what_they_are_marked_for(gate: Gate) -> None:
    async with gate.aio() as client:
        with pytest.raises(openai.NotFoundError) as chat_with_embedder:
            await client.chat.completions.create(model=EMBED, messages=HELLO)
        with pytest.raises(openai.NotFoundError) as embed_with_chat:
            await client.embeddings.create(model=CHAT, input="x")
        with pytest.raises(openai.NotFoundError) as outside:
            await client.embeddings.create(model=OUTSIDE, input="x")
        with pytest.raises(openai.BadRequestError) as unknown:
            await client.embeddings.create(model=EMBED, input="x", extra_body={"truncate": True})
        with pytest.raises(openai.BadRequestError) as empty:
            await client.embeddings.create(model=EMBED, input=[])
    assert "not a chat model" in chat_with_embedder.value.message
    assert "does not serve embeddings" in embed_with_chat.value.message
    assert outside.value.code == "model_not_found" and unknown.value.code == "unknown_parameter"
    assert empty.value.param == "input"
    assert gate.fake.requests == [] and await gate.window(EMBED) == 0


async def test_embedding_input_is_moderated_and_counts_on_a_daily_cap(open_gate: OpenGate) -> None:
    gate = await open_gate(TEXT_SECURITY=["keywords"])
    await set_words(gate.store, ["forbidden"])
    await set_limits(gate.store, daily_tokens=100)
    async with gate.aio() as client:
        with pytest.raises(openai.BadRequestError) as blocked:
            await client.embeddings.create(model=EMBED, input=["fine", "a forbidden text"])
        raw = await client.embeddings.with_raw_response.create(model=EMBED, input="four words right here")
    assert blocked.value.code == "content_filter"
    assert raw.headers["x-ratelimit-limit-tokens"] == "100" and raw.headers["x-ratelimit-remaining-requests"]
    rows = {row.model: row for row in await user_usage(gate.store, gate.user.id, 1, gate.services.clock())}
    assert rows[EMBED].prompt_tokens == 4
    used = int(await gate.store.redis.get(gate.store.keys.daily_tokens(gate.user.id, _today(gate))) or 0)
    assert used == 4  # the reservation was replaced by the upstream's usage


def _today(gate: Gate) -> str:
    return day_stamp(gate.services.clock())


async def test_an_upstream_failure_gives_the_message_back(gate: Gate) -> None:
    gate.fake.behaviour = Behaviour(status=503)
    async with gate.aio() as client:
        with pytest.raises(openai.APIStatusError) as down:
            await client.embeddings.create(model=EMBED, input="hello")
    assert down.value.status_code == 503 and down.value.code == "upstream_unavailable"
    assert await gate.window(EMBED) == 0
