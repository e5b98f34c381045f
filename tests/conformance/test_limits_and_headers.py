"""Items 3, 4 and 5: the caller's messages forwarded as sent (400 context_length_exceeded instead of trimming), the
headers clients read (request id, rate limits, retry), and 404 model_not_found for a model the plan leaves out."""

from __future__ import annotations

import logging
import re
from typing import Any

import openai
import pytest

from core.billing.plans import FREE_PLAN
from core.logs import RequestIdFilter
from tests.conformance.conftest import CHAT, HELLO, OUTSIDE, SMALL, Gate, set_limits

CHAT_PATH = "/v1/chat/completions"


def history(turns: int) -> list[Any]:
    """`turns` question/answer pairs and a last question: 2 * turns + 1 messages."""
    messages: list[Any] = []
    for turn in range(turns):
        messages += [
            {"role": "user", "content": f"question {turn}"},
            {"role": "assistant", "content": f"answer {turn}"},
        ]
    return [*messages, {"role": "user", "content": "and now?"}]


async def test_an_over_long_history_is_refused_not_trimmed(gate: Gate) -> None:
    long = history(100)  # 201 messages, far over the 300-token window
    async with gate.aio() as client:
        with pytest.raises(openai.BadRequestError) as refused:
            await client.chat.completions.create(model=SMALL, messages=long, max_tokens=20)
    assert refused.value.code == "context_length_exceeded" and refused.value.param == "messages"
    assert "maximum context length is 300 tokens" in refused.value.message
    assert gate.fake.chat_requests == [] and await gate.window(SMALL) == 0
    short = history(3)
    answer = await gate.sync(lambda c: c.chat.completions.create(model=SMALL, messages=short, max_tokens=20))
    assert answer.choices[0].message.content
    assert gate.fake.chat_requests[0].body["messages"] == short  # forwarded as sent


async def test_a_long_history_that_fits_is_forwarded_whole(gate: Gate) -> None:
    long = history(100)
    status, _, _ = await gate.http("POST", CHAT_PATH, json={"model": CHAT, "messages": long})
    assert status == 200 and len(gate.fake.chat_requests[0].body["messages"]) == 201


async def test_every_response_has_a_request_id_that_is_in_the_logs(
    gate: Gate, caplog: pytest.LogCaptureFixture
) -> None:
    ok = await gate.http("POST", CHAT_PATH, json={"model": CHAT, "messages": HELLO, "stream": True})
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestIdFilter())  # as `chatgate serve` logs: every record with its request id
    refused = await gate.http("POST", CHAT_PATH, json={"model": "gpt-9", "messages": HELLO})
    anonymous = await gate.http("GET", "/v1/models", key=False)
    ids = [headers.get("x-request-id") for _, headers, _ in (ok, refused, anonymous)]
    assert all(ids) and len(set(ids)) == 3
    assert ok[0] == 200 and refused[0] == 404 and anonymous[0] == 401
    assert any(getattr(record, "request_id", None) == ids[1] for record in caplog.records)
    mine = await gate.http("GET", "/v1/models", headers={"X-Request-Id": "trace-42"})
    assert mine[1]["x-request-id"] == "trace-42"  # the caller's own id is kept (and sent upstream)
    await gate.http("POST", CHAT_PATH, json={"model": CHAT, "messages": HELLO}, headers={"X-Request-Id": "trace-43"})
    sent = {name.lower(): value for name, value in gate.fake.chat_requests[-1].headers.items()}
    assert sent["x-request-id"] == "trace-43"


async def test_rate_limit_headers_as_openai_names_them(gate: Gate) -> None:
    await set_limits(gate.store, limit=5, window="3h", daily_tokens=100_000)
    async with gate.aio() as client:
        raw = await client.chat.completions.with_raw_response.create(model=CHAT, messages=HELLO, max_tokens=100)
    headers = raw.headers
    assert headers["x-ratelimit-limit-requests"] == "5" and headers["x-ratelimit-remaining-requests"] == "4"
    assert re.fullmatch(r"(2h59m\d+(\.\d+)?s|3h0m0s)", headers["x-ratelimit-reset-requests"])
    assert headers["x-ratelimit-limit-tokens"] == "100000"
    assert 99_000 < int(headers["x-ratelimit-remaining-tokens"]) < 100_000  # the call's reservation counted
    assert re.fullmatch(r"(\d+h)?(\d+m)?[\d.]+s|\d+ms", headers["x-ratelimit-reset-tokens"])
    status, streamed, _ = await gate.http("POST", CHAT_PATH, json={"model": CHAT, "messages": HELLO, "stream": True})
    assert status == 200 and streamed["x-ratelimit-remaining-requests"] == "3"


async def test_a_long_wait_is_a_429_clients_do_not_retry(gate: Gate) -> None:
    await set_limits(gate.store, limit=1, window="3h")
    assert (await gate.http("POST", CHAT_PATH, json={"model": CHAT, "messages": HELLO}))[0] == 200
    status, headers, _ = await gate.http("POST", CHAT_PATH, json={"model": CHAT, "messages": HELLO})
    assert status == 429 and headers["x-should-retry"] == "false"
    assert int(headers["retry-after"]) > 3 * 3600 - 60 and int(headers["retry-after-ms"]) > 3 * 3600_000 - 60_000
    assert headers["x-ratelimit-remaining-requests"] == "0"
    before = gate.hits[CHAT_PATH]
    async with gate.aio(max_retries=3) as client:  # the SDK would retry a 429 three times without the header
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(model=CHAT, messages=HELLO)
    refused = await gate.sync(lambda c: _status_error(c), max_retries=3)
    assert refused.status_code == 429
    assert gate.hits[CHAT_PATH] == before + 2  # one request each: neither SDK retried


def _status_error(client: openai.OpenAI) -> openai.APIStatusError:
    try:
        client.chat.completions.create(model=CHAT, messages=HELLO)
    except openai.APIStatusError as error:
        return error
    raise AssertionError("not refused")


async def test_a_short_wait_is_retried_after_the_time_it_says(gate: Gate) -> None:
    await set_limits(gate.store, limit=1, window="1s")
    assert (await gate.http("POST", CHAT_PATH, json={"model": CHAT, "messages": HELLO}))[0] == 200
    status, headers, _ = await gate.http("POST", CHAT_PATH, json={"model": CHAT, "messages": HELLO})
    assert status == 429 and "x-should-retry" not in headers
    assert 0 < int(headers["retry-after-ms"]) <= 1000 and headers["retry-after"] == "1"
    async with gate.aio(max_retries=2) as client:  # honours retry-after-ms, then gets through
        answer = await client.chat.completions.create(model=CHAT, messages=HELLO)
    assert answer.choices[0].message.content


async def test_a_daily_token_cap_429_says_so_in_token_headers(gate: Gate) -> None:
    await set_limits(gate.store, daily_tokens=10)
    status, headers, body = await gate.http("POST", CHAT_PATH, json={"model": CHAT, "messages": HELLO})
    assert status == 429 and b"rate_limit_exceeded" in body
    assert headers["x-ratelimit-limit-tokens"] == "10" and headers["x-should-retry"] == "false"
    assert "x-ratelimit-reset-tokens" in headers


async def test_a_model_outside_the_plan_is_openais_404(gate: Gate) -> None:
    async with gate.aio() as client:
        with pytest.raises(openai.NotFoundError) as missing:
            await client.chat.completions.create(model=OUTSIDE, messages=HELLO)
        listed = [model.id async for model in client.models.list()]
    assert missing.value.code == "model_not_found" and missing.value.param == "model"
    assert "plan does not include" in missing.value.message
    assert OUTSIDE not in listed and CHAT in listed
    status, _, body = await gate.http("GET", f"/v1/models/{OUTSIDE}")
    assert status == 404 and b"model_not_found" in body
    for _ in range(2):  # the ordinary path, then the one-round-trip path: the same answer
        status, _, body = await gate.http("POST", CHAT_PATH, json={"model": OUTSIDE, "messages": HELLO})
        assert status == 404 and b'"code":"model_not_found"' in body
    assert FREE_PLAN == "free" and gate.fake.chat_requests == []
