"""Upstreams that hang, through the whole app: the timeouts fire and the next upstream answers.

Before the first byte (nothing sent, or headers then silence) the call fails over within the same request, after
UPSTREAM_FIRST_BYTE_TIMEOUT; a stall mid-stream (after content reached the caller, so no other upstream can take
over) ends the answer after UPSTREAM_IDLE_TIMEOUT with an error, charges what was delivered, saves it, frees the
stream slot, and counts against the upstream until it is benched: later calls go to the next upstream.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import orjson
import pytest

from core.chat.token_count import count_tokens
from core.relay.upstreams import upstream_health
from core.store.connection import Store
from tests.chat_support import MODEL, add_model, set_plan, usage_totals, window_count
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, text_of
from tests.webui.conftest import AuthActions, MakeApp, make_app  # noqa: F401  # the fixture

TIMEOUTS = {"UPSTREAM_FIRST_BYTE_TIMEOUT": 0.5, "UPSTREAM_IDLE_TIMEOUT": 0.5, "UPSTREAM_FAILS_TO_BENCH": 2}
HANG = 10.0  # far longer than the timeouts: an answer in time proves they fired


@pytest.fixture
async def healthy() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as fake:
        yield fake


async def _chat(auth: AuthActions, content: str) -> list[dict[str, object]]:
    response = await auth.client.post("/api/chat", json={"model": MODEL, "content": content}, headers=auth.headers)
    assert response.status_code == 200, await response.get_data(as_text=True)
    return [orjson.loads(block[6:]) for block in (await response.get_data()).split(b"\n\n") if block]


def _text(events: list[dict[str, object]]) -> str:
    return "".join(str(event["content"]) for event in events if event["type"] == "delta")


@pytest.mark.parametrize(
    "hang", [Behaviour(hang=HANG), Behaviour(hang_after_headers=HANG)], ids=["nothing-sent", "headers-then-silence"]
)
async def test_an_upstream_that_hangs_before_the_first_byte_fails_over_in_the_same_request(
    make_app: MakeApp,  # noqa: F811
    store: Store,
    healthy: FakeUpstream,
    hang: Behaviour,
) -> None:
    async with FakeUpstream(behaviour=hang) as hanging:
        await add_model(store, [hanging, healthy])  # the hanging one first
        await set_plan(store, {MODEL: (10, "3h")})
        auth = AuthActions((await make_app(**TIMEOUTS)).test_client())
        await auth.register()
        started = time.monotonic()
        events = await _chat(auth, "Hello")
        elapsed = time.monotonic() - started
    assert events[-1]["type"] == "done" and _text(events) == text_of(8)
    assert elapsed < HANG / 2  # the first-byte timeout fired; the hang was not waited out
    assert (len(hanging.chat_requests), len(healthy.chat_requests)) == (1, 1)
    assert (await upstream_health(store, ["up0"]))["up0"].fails == 1
    user_id = int(auth.user["id"])
    assert await window_count(store, user_id) == 1 and (await usage_totals(store, user_id, time.time()))[0] == 1


async def test_a_stall_mid_stream_ends_the_answer_charges_what_was_delivered_and_benches_the_upstream(
    make_app: MakeApp,  # noqa: F811
    store: Store,
    healthy: FakeUpstream,
) -> None:
    async with FakeUpstream(behaviour=Behaviour(chunks=8, pause_after=3, pause=HANG)) as stalling:
        await add_model(store, [stalling, healthy])
        await set_plan(store, {MODEL: (10, "3h")})
        app = await make_app(MAX_STREAMS_PER_USER=1, **TIMEOUTS)
        auth = AuthActions(app.test_client())
        await auth.register()
        user_id = int(auth.user["id"])
        for turn in (1, 2):  # UPSTREAM_FAILS_TO_BENCH stalls
            started = time.monotonic()
            events = await _chat(auth, f"Question {turn}")
            assert time.monotonic() - started < HANG / 2  # the idle timeout fired
            assert _text(events) == text_of(3)  # what was delivered before the stall
            assert events[-1]["type"] == "error" and events[-1]["upstream_code"] == "upstream_timeout", events[-1]
            saved = await auth.client.get(f"/api/conversations/{events[0]['conversation_id']}")
            messages = [(m["role"], m["content"]) for m in (await saved.get_json())["messages"]]
            assert messages == [("user", f"Question {turn}"), ("assistant", text_of(3))]
            requests, _, completion = await usage_totals(store, user_id, time.time())
            assert (requests, completion) == (turn, turn * count_tokens(text_of(3), MODEL))  # what was delivered
        # the stream slot was freed each time (MAX_STREAMS_PER_USER=1), and the stalling upstream is now benched
        assert (await upstream_health(store, ["up0"]))["up0"].benched(time.time())
        events = await _chat(auth, "Question 3")
    assert events[-1]["type"] == "done" and _text(events) == text_of(8)
    assert (len(stalling.chat_requests), len(healthy.chat_requests)) == (2, 1)
    assert await window_count(store, user_id) == 3
