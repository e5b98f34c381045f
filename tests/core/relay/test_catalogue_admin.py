"""Models and upstreams changed from the dashboard: one upstream shared by its models (a change reaches them all),
keys entered once and masked after, malformed keys and used upstreams refused, a disabled upstream never tried,
the test call against a loopback upstream, and models stored before the registry migrated."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator

import orjson
import pytest

from core.errors import AlreadyExists, InUse, InvalidInput
from core.relay import catalogue_admin as admin
from core.relay.catalogue import Upstream, get_model, list_models
from core.relay.registry import get_upstream, migrate_upstreams
from core.relay.upstreams import plan_attempts
from core.settings import Settings
from core.site.audit import Actor, list_audit
from core.store.connection import Store
from tests.fakes.openai_upstream import Behaviour, FakeUpstream

ADMIN = Actor(1, "root@example.com")
KEY = "sk-live-0123456789abcd"


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream(keys={KEY}) as server:
        yield server


def upstream(base_url: str = "http://127.0.0.1:9/v1", **changes: object) -> dict[str, object]:
    return {"id": "main", "name": "Main", "base_url": base_url, "keys": [KEY], "priority": 5, **changes}


async def test_an_upstream_is_shared_and_its_key_masked(store: Store) -> None:
    now = time.time()
    created = await admin.create_upstream(store, ADMIN, upstream(), now)
    assert created.public()["keys"] == ["sk-...abcd"]
    for model_id in ("a", "b"):
        await admin.create_model(store, ADMIN, {"id": model_id, "upstreams": ["main"], "input_price": 100}, now)
    edited = await admin.update_upstream(store, ADMIN, "main", {"keys": ["sk-...abcd", "sk-second-key-9999"],
                                                                "priority": 9}, now)  # fmt: skip
    assert edited.keys == [KEY, "sk-second-key-9999"]
    for model in await list_models(store):
        assert model.upstreams[0].priority == 9 and model.upstreams[0].keys == edited.keys
    removed = await admin.update_upstream(store, ADMIN, "main", {"keys": ["sk-...9999"]}, now)
    assert removed.keys == ["sk-second-key-9999"]
    stored = str(await store.redis.hgetall(store.keys.models()))
    assert KEY not in stored and "sk-second" not in stored  # models name upstreams by id; keys live once
    audit = str([entry.public() for entry in (await list_audit(store)).entries])
    assert KEY not in audit and "sk-second-key-9999" not in audit and "sk-...9999" in audit


@pytest.mark.parametrize(
    "keys",
    [["has space inside"], ["short"], ["sk-...zzzz"], [KEY, KEY], "sk-not-a-list", ["\u00e9\u00e9\u00e9\u00e9key12"]],
)
async def test_malformed_keys_change_nothing(store: Store, keys: object) -> None:
    await admin.create_upstream(store, ADMIN, upstream(), time.time())
    with pytest.raises(InvalidInput) as refused:
        await admin.update_upstream(store, ADMIN, "main", {"keys": keys}, time.time())
    assert refused.value.data["field"] == "keys"
    current = await get_upstream(store, "main")
    assert current is not None and current.keys == [KEY]


async def test_bad_input_and_conflicts(store: Store) -> None:
    now = time.time()
    await admin.create_upstream(store, ADMIN, upstream(), now)
    with pytest.raises(AlreadyExists):
        await admin.create_upstream(store, ADMIN, upstream(), now)
    for bad in (upstream(id="x", base_url="ftp://nope"), upstream(id="y", priority="high"), upstream(id="bad id")):
        with pytest.raises(InvalidInput):
            await admin.create_upstream(store, ADMIN, bad, now)
    with pytest.raises(InvalidInput):
        await admin.create_model(store, ADMIN, {"id": "m", "upstreams": ["ghost"]}, now)
    with pytest.raises(InvalidInput):
        await admin.create_model(store, ADMIN, {"id": "m", "upstreams": ["main"], "input_price": -1}, now)
    await admin.create_model(store, ADMIN, {"id": "m", "upstreams": ["main"]}, now)
    with pytest.raises(InUse):
        await admin.remove_upstream(store, ADMIN, "main", now)
    await admin.remove_model(store, ADMIN, "m", now)
    await admin.remove_upstream(store, ADMIN, "main", now)
    assert await get_upstream(store, "main") is None


async def test_a_disabled_upstream_is_never_tried(store: Store) -> None:
    now = time.time()
    await admin.create_upstream(store, ADMIN, upstream(), now)
    await admin.create_upstream(store, ADMIN, upstream(id="spare", priority=0), now)
    await admin.create_model(store, ADMIN, {"id": "m", "upstreams": ["main", "spare"]}, now)
    await admin.update_upstream(store, ADMIN, "main", {"enabled": False}, now)
    model = await get_model(store, "m")
    assert model is not None
    assert [a.upstream.id for a in await plan_attempts(store, model, now, random.Random(1))] == ["spare"]
    await admin.update_upstream(store, ADMIN, "spare", {"enabled": False}, now)
    model = await get_model(store, "m")
    assert model is not None and await plan_attempts(store, model, now) == []


async def test_the_test_call_answers_latency_or_the_error(store: Store, settings: Settings, fake: FakeUpstream) -> None:
    now = time.time()
    await admin.create_upstream(store, ADMIN, upstream(fake.base_url), now)
    await admin.create_model(store, ADMIN, {"id": "gpt-4o-mini", "upstreams": ["main"]}, now)
    check = await admin.try_upstream(store, settings, "main", None)
    assert check.ok and check.latency_ms >= 0 and fake.chat_requests[-1].key == KEY
    await admin.update_upstream(store, ADMIN, "main", {"keys": ["sk-wrong-key-00000"]}, now)
    check = await admin.try_upstream(store, settings, "main", None)
    assert not check.ok and "Incorrect API key" in check.error
    fake.behaviour = Behaviour(status=503)
    await admin.update_upstream(store, ADMIN, "main", {"keys": [KEY]}, now)
    check = await admin.try_upstream(store, settings, "main", "gpt-4o-mini")
    assert not check.ok and "overloaded" in check.error


async def test_models_stored_before_the_registry_are_migrated(store: Store) -> None:
    legacy = {"id": "old", "name": "Old", "upstreams": [Upstream("u1", "http://127.0.0.1:9/v1", keys=[KEY]).__dict__]}
    await store.redis.hset(store.keys.models(), "old", orjson.dumps(legacy))
    model = await get_model(store, "old")
    assert model is not None and model.upstreams[0].keys == [KEY]  # still loads
    assert await migrate_upstreams(store) == 1 and await migrate_upstreams(store) == 0
    assert orjson.loads(await store.redis.hget(store.keys.models(), "old"))["upstreams"] == ["u1"]
    migrated = await get_model(store, "old")
    assert migrated is not None and migrated.upstreams == model.upstreams
