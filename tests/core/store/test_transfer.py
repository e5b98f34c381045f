"""`chatgate store export / import`: every account, plan, conversation and key moves to another store intact."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.accounts.api_keys import create_api_key, resolve_api_key
from core.accounts.registration import register_user
from core.accounts.sessions import create_session
from core.accounts.signin import authenticate_password
from core.billing.plans import Limit, Plan, save_plan
from core.billing.subscriptions import add_subscription, current_plan
from core.chat.conversations import create_conversation, list_conversations
from core.chat.messages import append_message, get_messages, new_message
from core.errors import InvalidInput
from core.settings import Settings
from core.store.connection import Store, connect
from core.store.embedded import EmbeddedStore
from core.store.transfer import export_lines, import_lines
from tests.webui.conftest import FAST_HASHING

PASSWORD = "correct horse battery"


@pytest.fixture
async def empty_store(tmp_path: Path) -> AsyncIterator[Store]:
    """Another store server (a single node even when the suite runs on a cluster): where the data moves to."""
    server = EmbeddedStore(tmp_path / "target")
    handle = connect(server.start())
    yield handle
    await handle.close()
    server.stop()


async def test_export_then_import_into_an_empty_store_keeps_everything(
    store: Store, empty_store: Store, settings: Settings
) -> None:
    cheap = settings.model_copy(update=FAST_HASHING)
    now = time.time()
    await save_plan(store, Plan("free", "Free", {}, {"m": Limit(5, "1h")}))
    await save_plan(store, Plan("pro", "Pro", {"monthly": 2900}, {"m": Limit(50, "1h")}))
    users = [
        await register_user(
            store, cheap, None, email=f"user{n}@example.com", password=PASSWORD, name=f"名字 {n}", now=now
        )
        for n in range(3)
    ]
    await add_subscription(store, users[1].id, "pro", 30 * 86_400, now, order_id="order-1")
    conversation = await create_conversation(store, users[2].id, model="m", channel="web", now=now)
    await append_message(store, users[2].id, conversation.id, new_message("user", "你好 **world**", now))
    _, key = await create_api_key(store, users[0].id, "laptop", now)
    await create_session(store, cheap, "s" * 40, users[0].id, ip="1.2.3.4", agent="a", now=now)

    lines = [line async for line in export_lines(store)]
    done = await import_lines(empty_store, lines)

    assert done.keys == len(lines) and done.by_type["hash"] > 0
    for user in users:
        signed_in = await authenticate_password(empty_store, cheap, user.email, PASSWORD, ip="9.9.9.9", now=now)
        assert (signed_in.id, signed_in.name) == (user.id, user.name)
    assert (await current_plan(empty_store, users[1].id, now)).name == "pro"
    assert (await current_plan(empty_store, users[0].id, now)).name == "free"
    moved = await list_conversations(empty_store, users[2].id)
    assert [m.content for m in await get_messages(empty_store, users[2].id, moved[0].id)] == ["你好 **world**"]
    assert (owner := await resolve_api_key(empty_store, key, now)) is not None and owner.user_id == users[0].id
    session_ttls = [await empty_store.redis.ttl(name) for name in await empty_store.redis.keys("*:sess:*")]
    assert session_ttls and all(ttl > 0 for ttl in session_ttls)  # lifetimes move with the keys


async def test_import_refuses_a_store_with_data_and_a_malformed_file(store: Store, empty_store: Store) -> None:
    await store.redis.set(store.keys.user_seq(), 3)
    lines = [line async for line in export_lines(store)]
    await import_lines(empty_store, lines)
    with pytest.raises(InvalidInput):
        await import_lines(empty_store, lines)  # not empty any more
    assert (await import_lines(empty_store, lines, overwrite=True)).keys == 1
    await empty_store.redis.flushall()
    with pytest.raises(InvalidInput):
        await import_lines(empty_store, ['{"key": "cg:v1:x"}'])
