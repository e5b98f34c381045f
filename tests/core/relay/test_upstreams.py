"""Upstream selection: priority and weight, benching after repeated failures, one probe back, SDK admin actions."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from core.errors import UpstreamError, UpstreamUnavailable
from core.relay.catalogue import Model, Upstream
from core.relay.engine import Relay
from core.relay.upstreams import (
    Attempt,
    Health,
    HealthCache,
    check_upstream,
    claim_probe,
    list_upstream_models,
    order_attempts,
    plan_attempts,
    record_failure,
    reset_health,
    upstream_health,
)
from core.settings import Settings
from core.store.connection import Store
from tests.conftest import command_calls, reset_command_stats
from tests.fakes.openai_upstream import MODELS, Behaviour, FakeUpstream

BODY = {"messages": [{"role": "user", "content": "hi"}]}


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def bench_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "UPSTREAM_FIRST_BYTE_TIMEOUT": 3.0,  # the slow probe below (0.3 s) must never time out
            "UPSTREAM_FAILS_TO_BENCH": 3,
            "UPSTREAM_BENCH_SECONDS": 30,
        }
    )


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeUpstream, FakeUpstream]]:
    async with FakeUpstream() as primary, FakeUpstream() as backup:
        yield primary, backup


def two_upstream_model(primary: FakeUpstream, backup: FakeUpstream) -> Model:
    return Model(
        id="gpt-4o-mini",
        name="GPT-4o mini",
        upstreams=[
            Upstream(id="primary", base_url=primary.base_url, keys=["sk-test"], priority=10),
            Upstream(id="backup", base_url=backup.base_url, keys=["sk-test"], priority=0),
        ],
    )


async def serve_once(relay: Relay, model: Model) -> str:
    async with await relay.stream(model, BODY) as stream:
        async for _ in stream:
            pass
        return stream.upstream.id


def test_priority_first_then_weighted_random() -> None:
    rng = random.Random(7)
    attempts = [
        Attempt(Upstream(id="low", base_url="http://l", priority=0, weight=100), Health()),
        Attempt(Upstream(id="heavy", base_url="http://h", priority=5, weight=3), Health()),
        Attempt(Upstream(id="light", base_url="http://x", priority=5, weight=1), Health()),
        Attempt(Upstream(id="standby", base_url="http://s", priority=5, weight=0), Health()),
    ]
    firsts: Counter[str] = Counter()
    for _ in range(4000):
        order = [attempt.upstream.id for attempt in order_attempts(attempts, rng)]
        assert order[2:] == ["standby", "low"]  # weight 0 last in its priority; lower priority after
        firsts[order[0]] += 1
    assert 0.70 < firsts["heavy"] / 4000 < 0.80  # weight 3 : 1


async def test_repeated_failures_bench_the_upstream_then_one_probe_brings_it_back(
    bench_settings: Settings, store: Store, fakes: tuple[FakeUpstream, FakeUpstream]
) -> None:
    primary, backup = fakes
    clock = Clock()
    relay = Relay(bench_settings, store, clock=clock)
    model = two_upstream_model(primary, backup)
    try:
        primary.behaviour = Behaviour(status=500)
        for _ in range(3):
            assert await serve_once(relay, model) == "backup"
        health = (await upstream_health(store, ["primary"]))["primary"]
        assert health.fails == 3 and health.benched_until == clock.now + 30
        # Benched: the primary is not even tried (no retry on the same failing upstream).
        assert await serve_once(relay, model) == "backup"
        assert len(primary.chat_requests) == 3
        primary.behaviour = Behaviour()  # it recovers, but nobody knows until the bench is over
        clock.now += 31
        assert await serve_once(relay, model) == "primary"  # the probe
        assert (await upstream_health(store, ["primary"]))["primary"] == Health(0, 0.0, health.last_error)
        assert await serve_once(relay, model) == "primary"
    finally:
        await relay.close()


async def test_a_failed_probe_benches_again(
    bench_settings: Settings, store: Store, fakes: tuple[FakeUpstream, FakeUpstream]
) -> None:
    primary, backup = fakes
    clock = Clock()
    relay = Relay(bench_settings, store, clock=clock)
    model = two_upstream_model(primary, backup)
    try:
        for _ in range(3):
            await record_failure(store, bench_settings, "primary", clock.now, "500")
        clock.now += 31
        primary.behaviour = Behaviour(status=503)
        assert await serve_once(relay, model) == "backup"
        health = (await upstream_health(store, ["primary"]))["primary"]
        assert health.fails == 4 and health.benched_until == clock.now + 30
        assert await serve_once(relay, model) == "backup" and len(primary.chat_requests) == 1
    finally:
        await relay.close()


async def test_only_one_request_probes_a_benched_upstream(
    bench_settings: Settings, store: Store, fakes: tuple[FakeUpstream, FakeUpstream]
) -> None:
    primary, backup = fakes
    clock = Clock()
    for _ in range(3):
        await record_failure(store, bench_settings, "primary", clock.now, "timeout")
    clock.now += 31
    primary.behaviour = Behaviour(hang=0.3)  # the probe is slow, so the others overlap it
    relay = Relay(bench_settings, store, clock=clock)
    model = two_upstream_model(primary, backup)
    try:
        served = await asyncio.gather(*(serve_once(relay, model) for _ in range(8)))
        assert sorted(served) == ["backup"] * 7 + ["primary"]
        assert len(primary.chat_requests) == 1
    finally:
        await relay.close()


async def test_probe_lock_is_exclusive_and_bench_excludes(bench_settings: Settings, store: Store) -> None:
    model = Model(id="m", name="m", upstreams=[Upstream(id="u1", base_url="http://u1")])
    pair = Model(id="m", name="m", upstreams=[*model.upstreams, Upstream(id="u2", base_url="http://u2")])
    for _ in range(3):
        await record_failure(store, bench_settings, "u1", 100.0, "boom")
    assert [attempt.upstream.id for attempt in await plan_attempts(store, pair, now=110.0)] == ["u2"]
    (attempt,) = await plan_attempts(store, model, now=200.0)
    assert attempt.probe
    assert await claim_probe(store, bench_settings, "u1")
    assert not await claim_probe(store, bench_settings, "u1")
    await reset_health(store, "u1")
    (attempt,) = await plan_attempts(store, model, now=200.0)
    assert not attempt.probe and attempt.health == Health()


async def test_health_cache_sees_another_process_bench_within_its_ttl(bench_settings: Settings, store: Store) -> None:
    model = Model(id="m", name="m", upstreams=[Upstream(id="u1", base_url="http://u1")])
    cache = HealthCache(ttl=1.0)
    assert len(await plan_attempts(store, model, now=100.0, cache=cache)) == 1
    for _ in range(3):  # another process benches it
        await record_failure(store, bench_settings, "u1", 100.0, "boom")
    assert len(await plan_attempts(store, model, now=100.5, cache=cache)) == 1  # still the cached view
    # re-read after the ttl: benched (as the model's only upstream, offered as a probe only)
    assert [attempt.probe for attempt in await plan_attempts(store, model, now=101.0, cache=cache)] == [True]


async def test_health_cache_reads_the_store_once_for_a_crowd(store: Store) -> None:
    cache = HealthCache(ttl=1.0)

    async def hmget_calls() -> int:
        return await command_calls(store, "hmget")

    await reset_command_stats(store)
    crowd = await asyncio.gather(*(cache.get(store, ["u1", "u2"], 100.0) for _ in range(200)))
    assert await hmget_calls() == 2 and all(result == crowd[0] for result in crowd)  # one pipelined read
    await asyncio.gather(*(cache.get(store, ["u1", "u2"], 101.5) for _ in range(200)))  # stale: one refresh
    assert await hmget_calls() == 4


async def test_every_upstream_benched_lets_one_probe_through_at_a_time(
    bench_settings: Settings, store: Store, fakes: tuple[FakeUpstream, FakeUpstream]
) -> None:
    primary, backup = fakes
    clock = Clock()
    for upstream_id, benched_at in (("primary", clock.now), ("backup", clock.now - 10)):
        for _ in range(3):
            await record_failure(store, bench_settings, upstream_id, benched_at, "down")
    plan = await plan_attempts(store, two_upstream_model(primary, backup), clock.now)
    assert [(attempt.upstream.id, attempt.probe) for attempt in plan] == [("backup", True)]  # its bench ends first
    assert await claim_probe(store, bench_settings, "backup")  # another request is probing it right now
    relay = Relay(bench_settings, store, clock=clock)
    try:
        with pytest.raises(UpstreamUnavailable):
            await relay.stream(two_upstream_model(primary, backup), BODY)
        assert primary.requests == [] and backup.requests == []  # nobody else hits a benched upstream meanwhile
        await store.redis.delete(store.keys.upstream_probe("backup"))  # that probe is over
        stream = await relay.stream(two_upstream_model(primary, backup), BODY)  # this one probes, and it answers
        await stream.aclose()
        assert len(backup.requests) == 1 and primary.requests == []
        health = (await upstream_health(store, ["backup"]))["backup"]
        assert (health.fails, health.benched_until) == (0, 0.0)  # back in service at once
    finally:
        await relay.close()


async def test_sdk_lists_models_and_checks_an_upstream(
    bench_settings: Settings, fakes: tuple[FakeUpstream, FakeUpstream]
) -> None:
    primary, _ = fakes
    good = Upstream(id="p", base_url=primary.base_url, keys=["sk-test"])
    assert await list_upstream_models(good, bench_settings) == sorted(MODELS)
    check = await check_upstream(good, "gpt-4o-mini", bench_settings)
    assert check.ok and check.error == ""
    bad = Upstream(id="p", base_url=primary.base_url, keys=["sk-bad"])
    check = await check_upstream(bad, "gpt-4o-mini", bench_settings)
    assert not check.ok and "401" in check.error
    with pytest.raises(UpstreamError):
        await list_upstream_models(bad, bench_settings)
    assert len(primary.chat_requests) == 2  # max_retries=0: one request per call, no SDK retries
