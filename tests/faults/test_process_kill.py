"""A `chatgate serve` process is SIGKILLed while it streams a long answer: the user is charged no more than was
streamed, the stream slot and the token reservation do not stay held, the conversation keeps what was acknowledged.

The rule (core.billing.quotas): a call that delivered tokens counts its window message, as any answer that started
(core.chat.charge); a call that was never settled is charged no tokens; its token reservation (counted prompt + max
output, held while it could still run) and its stream slot expire STREAM_SLOT_SECONDS after their last renewal.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import pytest

from core.billing.quotas import Consumption, consume_quota, renew_stream, tokens_used_today
from core.billing.usage import record_usage
from core.chat.messages import get_messages
from core.days import seconds_to_midnight
from core.errors import TooManyStreams
from core.settings import Settings
from core.store.connection import Store
from tests.chat_support import MODEL, PASSWORD, add_model, free_port, new_user, set_plan, usage_totals, window_count
from tests.conftest import CLUSTER, TEST_JWT_SECRET
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, text_of

ROOT = Path(__file__).resolve().parents[2]
SLOT_SECONDS = 10  # the shortest STREAM_SLOT_SECONDS allowed
STREAMED = 5  # pieces the client reads before the process is killed


@contextmanager
def _serve(store_url: str, data_dir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("REDIS_", "OPENAI_"))}
    env.update(REDIS_URL=store_url, REDIS_CLUSTER="true" if CLUSTER else "false", CHATGATE_ENV="test",
               JWT_SECRET=TEST_JWT_SECRET, DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT), TEXT_SECURITY="",
               OPENAI_ENDPOINT="http://127.0.0.1:9", MAX_STREAMS_PER_USER="1",
               STREAM_SLOT_SECONDS=str(SLOT_SECONDS))  # fmt: skip
    command = [sys.executable, "-m", "chatgate", "serve", "--only", "web", "--port", str(port)]
    process = subprocess.Popen(command, cwd=data_dir.parent, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(15)


async def _ready(base: str) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    pytest.fail(f"{base} did not start")


async def _events(response: httpx.Response) -> AsyncIterator[dict[str, object]]:
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            yield orjson.loads(line[6:])


@pytest.fixture
async def slow_upstream() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream(behaviour=Behaviour(chunks=400, chunk_delay=0.05)) as fake:  # a 20 s answer
        yield fake


async def _same_day_for_a_minute() -> None:
    """Wait past midnight (UTC) when it is less than a minute away: the day's token counter must stay one."""
    if seconds_to_midnight(time.time()) < 60:
        await asyncio.sleep(seconds_to_midnight(time.time()) + 1)


async def test_a_running_call_keeps_its_reservation_and_a_dead_one_gives_it_back(
    store: Store, settings: Settings
) -> None:
    await _same_day_for_a_minute()
    plan = await set_plan(store, {MODEL: (10, "3h")}, daily_tokens=1_000)
    user = await new_user(store, settings)
    now = time.time()
    running = await consume_quota(store, user.id, plan, MODEL, now, Consumption(300, slot_seconds=SLOT_SECONDS))
    await consume_quota(store, user.id, plan, MODEL, now, Consumption(200, slot_seconds=SLOT_SECONDS))  # dies
    assert await tokens_used_today(store, user.id, now) == 500
    assert await renew_stream(store, running, SLOT_SECONDS, now + 8) is False  # no stream slot (no limit): the
    assert await tokens_used_today(store, user.id, now + 11) == 300  # reservation alone was renewed
    await record_usage(store, user.id, MODEL, 20, 30, now + 12, daily_tokens=True, ticket=running)
    assert await tokens_used_today(store, user.id, now + 30) == 50  # the usage of the call that was settled
    again = await consume_quota(store, user.id, plan, MODEL, now + 31, Consumption(900, slot_seconds=SLOT_SECONDS))
    assert again.rate is not None and again.rate.tokens_used == 950  # the dead call's 200 are free again


async def test_a_process_killed_mid_stream_charges_no_more_than_was_streamed(
    store: Store, store_url: str, settings: Settings, slow_upstream: FakeUpstream, tmp_path: Path
) -> None:
    await _same_day_for_a_minute()
    await add_model(store, [slow_upstream])
    plan = await set_plan(store, {MODEL: (10, "3h")}, daily_tokens=10_000_000)
    user = await new_user(store, settings)
    with _serve(store_url, tmp_path / "data") as (base, process):
        await _ready(base)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            signed_in = await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
            bearer = {"Authorization": f"Bearer {signed_in.json()['token']}"}
            body = {"model": MODEL, "content": "Tell me everything"}
            got: list[dict[str, object]] = []
            with pytest.raises(httpx.TransportError):  # the process dies under the open stream
                async with client.stream("POST", "/api/chat", json=body, headers=bearer) as response:
                    assert response.status_code == 200
                    async for event in _events(response):
                        got.append(event)
                        if len(got) == 1 + STREAMED:  # the start event, then the pieces
                            os.kill(process.pid, signal.SIGKILL)
    streamed = "".join(str(event["content"]) for event in got if event["type"] == "delta")
    assert got[0]["type"] == "start" and streamed.startswith(text_of(STREAMED)) and len(streamed) < len(text_of(400))
    await _check_charged(store, user.id, plan, str(got[0]["conversation_id"]))


async def _check_charged(store: Store, user_id: int, plan: object, conversation_id: str) -> None:
    now = time.time()
    assert await window_count(store, user_id) == 1  # the answer started: its message counts (core.chat.charge)
    assert await usage_totals(store, user_id, now) == (0, 0, 0)  # never settled: no tokens charged
    held = await tokens_used_today(store, user_id, now)
    assert held > 100 * STREAMED  # the reservation (prompt + max output) is held while the call could still run
    use = Consumption(streams=1, slot_seconds=SLOT_SECONDS)
    with pytest.raises(TooManyStreams):  # its stream slot too
        await consume_quota(store, user_id, plan, MODEL, now, use)  # type: ignore[arg-type]
    later = now + SLOT_SECONDS + 1  # no renewal came: the dead call's slot and reservation have expired
    assert await tokens_used_today(store, user_id, later) == 0
    await consume_quota(store, user_id, plan, MODEL, later, use)  # type: ignore[arg-type]  # the slot is free
    saved = await get_messages(store, user_id, conversation_id)
    assert [(m.role, m.content) for m in saved] == [("user", "Tell me everything")]  # what was acknowledged
