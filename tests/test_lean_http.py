"""The benchmarks' lean load side (benchmarks/lean_http.py) against the reference pair it stands in for: its client
against the fake upstream (aiohttp), its upstream against the aiohttp load generator, and its answers' bytes
against the fake's."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from benchmarks.lean_http import LeanUpstream, run_lean_load
from benchmarks.relay_load import chat_body, run_load
from tests.fakes.openai_upstream import Behaviour, FakeUpstream

MODEL = "gpt-4o-mini"


@pytest.fixture
async def lean_url() -> AsyncIterator[str]:
    async with LeanUpstream(0, chunks=8) as upstream:
        yield upstream.url


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    behaviour = Behaviour(chunks=8, chunk_delay=0, hang=0)
    async with FakeUpstream(keys={"sk-bench"}, behaviour=behaviour) as upstream:
        yield upstream


@pytest.mark.parametrize("stream", [True, False])
async def test_the_lean_client_reads_the_fake_upstreams_answers_whole(fake: FakeUpstream, stream: bool) -> None:
    url = f"{fake.base_url}/chat/completions"
    result = await run_lean_load(url, "sk-bench", MODEL, 4, 0.3, 0.0, stream=stream)
    assert result.errors == 0, result.first_error
    # Every answer read to its end (a cut one is an error); the last one of each connection may end after the window
    assert fake.completed - 4 <= result.ok <= fake.completed and result.ok > 4


async def test_the_lean_client_counts_a_refused_call_as_an_error(fake: FakeUpstream) -> None:
    result = await run_lean_load(f"{fake.base_url}/chat/completions", "sk-wrong", MODEL, 2, 0.2, 0.0)
    assert result.ok == 0
    assert result.errors > 0 and "401 Unauthorized" in result.first_error


@pytest.mark.parametrize("stream", [True, False])
async def test_the_lean_upstream_serves_the_aiohttp_load_generator(lean_url: str, stream: bool) -> None:
    result = await run_load(f"{lean_url}/v1/chat/completions", "sk-bench", MODEL, 4, 0.3, 0.0, stream=stream)
    assert result.errors == 0, result.first_error
    assert result.ok > 4


async def test_the_lean_upstream_answers_as_the_fake_does(lean_url: str, fake: FakeUpstream) -> None:
    body = chat_body(MODEL)
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer sk-bench"}) as session:
        answers = []
        for base in (lean_url + "/v1", fake.base_url):
            async with session.post(f"{base}/chat/completions", data=body) as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/event-stream")
                answers.append(await response.read())
        async with session.post(f"{lean_url}/v1/chat/completions", data=b'{"model": "m"}') as response:
            assert response.status == 400
            assert (await response.json())["error"]["message"] == "'messages' is a required property"
        async with session.post(f"{lean_url}/v1/chat/completions", data=body, headers={"Authorization": ""}) as refused:
            assert refused.status == 401
    assert answers[0] == answers[1]
