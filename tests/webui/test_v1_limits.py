"""Limits on the chat path through /v1 (issue 9): a big request never holds up the event loop (1), parallel calls
cannot overshoot a daily token cap (7f), the plan's per-request caps (7g), the per-user stream limit (7h)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest

from core.billing.plans import Limit, Plan, save_plan
from core.billing.quotas import tokens_used_today
from core.chat.token_count import count_message_tokens, count_tokens
from core.chat.token_pool import TokenPool
from core.store.connection import Store
from tests.chat_support import MODEL, eventually, set_plan, usage_totals, window_count
from tests.fakes.openai_upstream import Behaviour, FakeUpstream
from tests.webui.conftest import MakeApp
from tests.webui.test_stream_close import hang_up_at_response_start
from tests.webui.test_v1 import assert_openai_error
from tests.webui.v1_support import CHAT, HELLO, Caller, make_caller

T = TypeVar("T")


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        yield upstream


class CountingPool(TokenPool):
    """The app's real token pool, noting the tokenizer jobs it runs and the threads they ran on."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self.jobs: list[str] = []
        self.threads: list[str] = []

    async def run(self, size: int, work: Callable[..., T], *args: Any) -> T:
        self.jobs.append(work.__name__)

        def noted(*inner: Any) -> T:
            self.threads.append(threading.current_thread().name)
            return work(*inner)

        return await super().run(size, noted, *args)


async def loop_gaps(work: Any) -> tuple[Any, float, float]:
    """Run `work` while a ticker measures the event loop; return its result, the longest gap and the elapsed time."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    try:
        result = await work
    finally:
        elapsed = time.perf_counter() - started
        done.set()
        await ticker
    return result, max(gaps), elapsed


async def test_a_megabyte_request_does_not_hold_up_the_event_loop(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    caller = await make_caller(make_app, store, fake)
    pool = CountingPool(2)
    caller.app.extensions["services"].relay.tokens = pool  # type: ignore[attr-defined]
    count_tokens("warm up", MODEL)  # the tokenizer's first load is a one-off, not part of what is measured
    assert (await caller.chat()).status_code == 200  # the key is remembered: the next call tries the fast path
    big = [{"role": "user", "content": "ab" * 450_000}]  # 900 KB: ~250k tokens, more than the 128k window
    response, longest, elapsed = await loop_gaps(caller.chat(messages=big))
    assert response.status_code == 400
    assert_openai_error(await response.get_json(), "context_length_exceeded")
    assert pool.jobs.count("message_costs") == 1  # counted once, though both paths fitted it
    # Counting took most of the call; the event loop kept turning meanwhile (before: one gap as long as the call).
    assert longest < elapsed / 4, (longest, elapsed)
    assert await window_count(store, caller.user_id) == 1 and len(fake.chat_requests) == 1


@pytest.mark.parametrize("stop_early", [False, True])
async def test_a_big_answer_without_usage_is_counted_off_the_event_loop(
    make_app: MakeApp, store: Store, fake: FakeUpstream, stop_early: bool
) -> None:
    caller = await make_caller(make_app, store, fake)
    pool = CountingPool(2)
    caller.app.extensions["services"].relay.tokens = pool  # type: ignore[attr-defined]
    pieces = tuple(f"part {index} " + "lorem ipsum " * 400 for index in range(6))  # ~29,000 characters
    fake.behaviour = Behaviour(pieces=pieces, usage=False, chunk_delay=0.02, error_after=3 if stop_early else None)
    response = await caller.chat(stream=True)
    assert response.status_code == 200
    delivered = "".join(pieces[:3] if stop_early else pieces)
    assert await eventually(lambda: _counted(store, caller, count_tokens(delivered, MODEL)))
    assert "count_tokens" in pool.jobs and any(name.startswith("tokens") for name in pool.threads)


async def _counted(store: Store, caller: Caller, completion: int) -> bool:
    return (await usage_totals(store, caller.user_id, time.time()))[2] == completion


async def test_parallel_calls_cannot_overshoot_a_small_daily_cap(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    caller = await make_caller(make_app, store, fake, MAX_STREAMS_PER_USER=0)
    estimate = count_message_tokens(HELLO, MODEL) + 10  # the counted prompt + max_tokens
    await set_plan(store, {MODEL: (100, "3h")}, daily_tokens=5 * estimate + 3)
    fake.behaviour = Behaviour(chunks=2, pause_after=1, pause=2.0)  # every answer stays open while the others ask
    responses = await asyncio.gather(*(caller.chat(stream=True, max_tokens=10) for _ in range(20)))
    statuses = [response.status_code for response in responses]
    assert (statuses.count(200), statuses.count(429)) == (5, 15)  # before: all 20 started, the cap 4x overshot
    refused = assert_openai_error(await responses[statuses.index(429)].get_json(), "rate_limit_exceeded", "tokens")
    assert "00:00 UTC" in refused["message"]
    # Each reservation was then replaced by the answer's real usage (the fake reports 9 + 2 tokens).
    assert await tokens_used_today(store, caller.user_id, time.time()) == 5 * 11
    assert await window_count(store, caller.user_id) == 5 and len(fake.chat_requests) == 5


async def test_the_plan_caps_max_tokens_and_the_prompt_per_request(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    caller = await make_caller(make_app, store, fake)
    await save_plan(store, Plan("free", "Free", {}, {MODEL: Limit(10, "3h")}, max_tokens=100, max_prompt_tokens=50))
    for _ in range(2):  # the first call takes the ordinary path, the next the API-key fast path
        response = await caller.chat(max_tokens=101)
        error = assert_openai_error(await response.get_json(), "plan_cap_exceeded")
        assert response.status_code == 400 and error["param"] == "max_tokens" and "at most 100" in error["message"]
    long_question = [{"role": "user", "content": "why " * 100}]
    for _ in range(2):
        response = await caller.chat(messages=long_question)
        error = assert_openai_error(await response.get_json(), "plan_cap_exceeded")
        assert response.status_code == 400 and error["param"] == "messages"
    assert await window_count(store, caller.user_id) == 0 and fake.chat_requests == []  # refused: nothing taken
    assert (await caller.chat()).status_code == 200
    assert fake.chat_requests[-1].body["max_tokens"] == 100  # no maximum asked: the plan's is sent
    assert (await caller.chat(max_completion_tokens=100)).status_code == 200
    assert "max_tokens" not in fake.chat_requests[-1].body
    history = [*long_question, {"role": "assistant", "content": "because"}, {"role": "user", "content": "and?"}]
    for _ in range(2):  # the caller's messages are sent as they are, or refused: never trimmed to fit
        response = await caller.chat(messages=history)
        error = assert_openai_error(await response.get_json(), "plan_cap_exceeded")
        assert response.status_code == 400 and error["param"] == "messages"
    assert len(fake.chat_requests) == 2


async def test_a_user_has_at_most_max_streams_per_user_answers_in_progress(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    caller = await make_caller(make_app, store, fake, limit=100, MAX_STREAMS_PER_USER=2)
    fake.behaviour = Behaviour(chunks=4, pause_after=1, pause=1.0)
    responses = await asyncio.gather(*(caller.chat(stream=True) for _ in range(5)))
    statuses = [response.status_code for response in responses]
    assert (statuses.count(200), statuses.count(429)) == (2, 3)
    error = assert_openai_error(await responses[statuses.index(429)].get_json(), "too_many_streams", "requests")
    assert "2 answers in progress" in error["message"]
    # The answers ended: their slots are free again, for any channel of the account (here the web chat).
    assert await store.redis.zcard(store.keys.streams(caller.user_id)) == 0
    fake.behaviour = Behaviour(chunks=4)
    web = await caller.client.post("/api/chat", json={"model": MODEL, "content": "Hi"}, headers=caller.auth.headers)
    assert web.status_code == 200 and await window_count(store, caller.user_id) == 3


@pytest.mark.parametrize("repeat", [1, 2])  # the ordinary path, then the fast path
async def test_a_caller_who_hangs_up_frees_the_stream_slot(
    make_app: MakeApp, store: Store, fake: FakeUpstream, repeat: int
) -> None:
    caller = await make_caller(make_app, store, fake, MAX_STREAMS_PER_USER=1)
    fake.behaviour = Behaviour(chunks=100, chunk_delay=0.05)
    body = {"model": MODEL, "messages": HELLO, "stream": True}
    for _ in range(repeat):
        await hang_up_at_response_start(caller.app, CHAT, body, caller.headers)
        assert await eventually(lambda: _no_streams(store, caller))
    fake.behaviour = Behaviour(chunks=4)
    assert (await caller.chat(stream=True)).status_code == 200  # the limit of 1 is free again
    assert (await usage_totals(store, caller.user_id, time.time()))[0] == repeat + 1


async def _no_streams(store: Store, caller: Caller) -> bool:
    return int(await store.redis.zcard(store.keys.streams(caller.user_id))) == 0


async def test_a_long_answer_renews_its_stream_slot(make_app: MakeApp, store: Store, fake: FakeUpstream) -> None:
    caller = await make_caller(make_app, store, fake, MAX_STREAMS_PER_USER=1, STREAM_SLOT_SECONDS=3)
    fake.behaviour = Behaviour(chunks=12, chunk_delay=0.15)  # ~1.8 s: past a third of the slot's 3 s
    key = store.keys.streams(caller.user_id)
    answer = asyncio.create_task(caller.chat(stream=True))
    assert await eventually(lambda: _has_stream(store, key))
    first = (await store.redis.zrange(key, 0, -1, withscores=True))[0][1]
    assert await eventually(lambda: _renewed(store, key, first), seconds=3)
    assert (await answer).status_code == 200
    assert await store.redis.zcard(key) == 0


async def _has_stream(store: Store, key: str) -> bool:
    return int(await store.redis.zcard(key)) == 1


async def _renewed(store: Store, key: str, first: float) -> bool:
    slots = await store.redis.zrange(key, 0, -1, withscores=True)
    return bool(slots) and slots[0][1] > first + 500
