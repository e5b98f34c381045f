"""Item 8: `"stream": null` and an empty user content accepted as OpenAI accepts them, real `created` times on
/v1/models, an OpenAI error type in the mid-stream error event, and status lines with their reason phrase."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import openai
import orjson
import pytest

from core.relay.catalogue import get_model
from core.relay.registry import stamp_model_times
from tests.conformance.conftest import CHAT, EMBED, HELLO, Gate, set_limits
from tests.fakes.openai_upstream import Behaviour, text_of


async def test_stream_null_is_a_whole_answer(gate: Gate) -> None:
    status, headers, body = await gate.http(
        "POST", "/v1/chat/completions", json={"model": CHAT, "messages": HELLO, "stream": None}
    )
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert orjson.loads(body)["choices"][0]["message"]["content"] == text_of(8)


async def test_an_empty_user_message_is_accepted(gate: Gate) -> None:
    messages = [{"role": "system", "content": "Say hi."}, {"role": "user", "content": ""}]
    answer = await gate.sync(lambda c: c.chat.completions.create(model=CHAT, messages=messages))  # type: ignore[arg-type]
    assert answer.choices[0].message.content == text_of(8)
    assert gate.fake.chat_requests[0].body["messages"] == messages


async def test_models_carry_the_time_they_were_added(gate: Gate) -> None:
    async with gate.aio() as client:
        listed = {model.id: model.created async for model in client.models.list()}
        one = await client.models.retrieve(EMBED)
    stored = await get_model(gate.store, CHAT)
    assert stored is not None and listed[CHAT] == stored.created and abs(stored.created - time.time()) < 60
    assert one.created == listed[EMBED] > 0
    # A model stored before the field existed gets a real time at the next start, once.
    raw = orjson.loads(await gate.store.redis.hget(gate.store.keys.models(), CHAT))
    await gate.store.redis.hset(gate.store.keys.models(), CHAT, orjson.dumps({**raw, "created": 0}))
    assert await stamp_model_times(gate.store, 1_700_000_000) == 1
    assert await stamp_model_times(gate.store, 1_800_000_000) == 0
    restamped = await get_model(gate.store, CHAT)
    assert restamped is not None and restamped.created == 1_700_000_000


async def test_a_mid_stream_failure_is_an_openai_server_error(gate: Gate) -> None:
    gate.fake.behaviour = Behaviour(chunks=6, error_after=3)
    status, _, body = await gate.http("POST", "/v1/chat/completions",
                                      json={"model": CHAT, "messages": HELLO, "stream": True})  # fmt: skip
    events = [block[6:] for block in body.split(b"\n\n") if block.startswith(b"data: ")]
    assert status == 200 and events[-1] == b"[DONE]"
    error = orjson.loads(events[-2])["error"]
    assert error["type"] == "server_error" and set(error) == {"message", "type", "param", "code"}
    gate.fake.behaviour = Behaviour(chunks=6, break_after=3)
    async with gate.aio() as client:
        stream = await client.chat.completions.create(model=CHAT, messages=HELLO, stream=True)
        with pytest.raises(openai.APIError) as broken:
            async for _ in stream:
                pass
    assert broken.value.type == "server_error" and broken.value.code == "upstream_broken"


async def status_line(gate: Gate, request: str) -> bytes:
    address = urlsplit(gate.url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(request.encode())
    await writer.drain()
    line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return line


@pytest.mark.parametrize(
    ("request_line", "expected"),
    [
        ("GET /v1/models HTTP/1.1", b"HTTP/1.1 200 OK\r\n"),
        ("GET /v1/nowhere HTTP/1.1", b"HTTP/1.1 404 Not Found\r\n"),
        ("GET /v1/models HTTP/1.1\r\nAuthorization: Bearer sk-wrong", b"HTTP/1.1 401 Unauthorized\r\n"),
    ],
)
async def test_status_lines_have_their_reason_phrase(gate: Gate, request_line: str, expected: bytes) -> None:
    if "Authorization" not in request_line:
        request_line += f"\r\nAuthorization: Bearer {gate.key}"
    assert await status_line(gate, f"{request_line}\r\nHost: x\r\nConnection: close\r\n\r\n") == expected


async def test_a_429_status_line(gate: Gate) -> None:
    await set_limits(gate.store, limit=1)
    body = orjson.dumps({"model": CHAT, "messages": HELLO}).decode()
    request = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {gate.key}\r\nContent-Type: "
               f"application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}")  # fmt: skip
    assert await status_line(gate, request) == b"HTTP/1.1 200 OK\r\n"
    assert await status_line(gate, request) == b"HTTP/1.1 429 Too Many Requests\r\n"
