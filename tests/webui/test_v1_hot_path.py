"""/v1 after the hot-path work: per-user state is read on every request, runtime config changes apply at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.accounts.users import set_blocked
from core.billing.subscriptions import add_subscription
from core.moderation import recent_blocks, set_words
from core.relay.catalogue import save_model
from core.store.connection import Store
from tests.chat_support import CHEAP_HASHING, MODEL, add_model, eventually, set_plan, usage_totals, window_count
from tests.fakes.openai_upstream import FakeUpstream
from tests.webui.conftest import Client, MakeApp
from tests.webui.v1_support import make_caller

CHAT = "/v1/chat/completions"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "Hello"}], "stream": True}


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        yield upstream


async def keyed_client(
    make_app: MakeApp, store: Store, fake: FakeUpstream, limit: int, **settings: Any
) -> tuple[Client, Any, int]:
    """Return a client, the API-key headers and the user id of a fresh user on a free plan with `limit`."""
    caller = await make_caller(make_app, store, fake, limit, **settings)
    return caller.client, caller.headers, caller.user_id


async def status_of(client: Client, headers: dict[str, str]) -> int:
    response = await client.post(CHAT, json=BODY, headers=headers)
    await response.get_data()
    return response.status_code


async def test_a_blocked_user_is_refused_on_the_very_next_request(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    client, headers, user_id = await keyed_client(make_app, store, fake, limit=10)
    assert [await status_of(client, headers) for _ in range(2)] == [200, 200]  # the key's owner is remembered
    await set_blocked(store, user_id, True)
    assert await status_of(client, headers) == 401
    await set_blocked(store, user_id, False)
    assert await status_of(client, headers) == 200


async def test_a_subscription_and_a_plan_edit_apply_to_the_next_request(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    client, headers, user_id = await keyed_client(make_app, store, fake, limit=1)
    assert [await status_of(client, headers) for _ in range(2)] == [200, 429]
    await set_plan(store, {MODEL: (3, "3h")}, name="pro")
    await add_subscription(store, user_id, "pro", 86_400, time.time())
    assert [await status_of(client, headers) for _ in range(3)] == [200, 200, 429]  # 3 in the window, 1 was free's
    await set_plan(store, {MODEL: (5, "3h")}, name="pro")
    assert [await status_of(client, headers) for _ in range(3)] == [200, 200, 429]
    assert await window_count(store, user_id) == 5


async def test_disabling_a_model_applies_to_the_next_request(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    client, headers, _ = await keyed_client(make_app, store, fake, limit=10)
    model = await add_model(store, [fake])
    assert await status_of(client, headers) == 200
    model.enabled = False
    await save_model(store, model)
    assert await status_of(client, headers) == 404


async def test_usage_is_exact_under_concurrency(make_app: MakeApp, store: Store, fake: FakeUpstream) -> None:
    client, headers, user_id = await keyed_client(make_app, store, fake, limit=100, MAX_STREAMS_PER_USER=0)
    assert await status_of(client, headers) == 200
    one = await usage_totals(store, user_id, time.time())
    assert one[0] == 1 and one[1] > 0 and one[2] > 0
    assert await asyncio.gather(*(status_of(client, headers) for _ in range(40))) == [200] * 40

    async def all_counted() -> bool:
        return await usage_totals(store, user_id, time.time()) == (41, 41 * one[1], 41 * one[2])

    assert await eventually(all_counted)
    assert await window_count(store, user_id) == 41


async def test_a_remembered_key_takes_the_one_round_trip_path_with_the_same_answers(
    make_app: MakeApp, store: Store, fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webui.v1
    import webui.v1_lane

    fast: list[bool] = []
    original = webui.v1.relay_api_key_chat

    async def counted(*args: Any) -> Any:
        done = await original(*args)
        fast.append(done is not None)
        return done

    async def counted_once(*args: Any) -> Any:  # the fast lane declined it: webui.v1 tries it again
        done = await original(*args)
        if done is not None:
            fast.append(True)
        return done

    monkeypatch.setattr(webui.v1_lane, "relay_api_key_chat", counted_once)
    monkeypatch.setattr(webui.v1, "relay_api_key_chat", counted)
    caller = await make_caller(make_app, store, fake, TEXT_SECURITY=["keywords"])
    await set_words(store, ["forbidden"])
    client, headers, user_id = caller.client, caller.headers, caller.user_id
    assert await status_of(client, headers) == 200 and fast == []  # the first use resolves the key the usual way
    assert await status_of(client, headers) == 200 and fast == [True]
    blocked = await client.post(
        CHAT, json={**BODY, "messages": [{"role": "user", "content": "so forbidden"}]}, headers=headers
    )
    assert (blocked.status_code, (await blocked.get_json())["error"]["code"]) == (400, "content_filter")
    assert fast == [True, False]  # moderation refusals go the usual way: after auth, logged with the user
    assert [block.user_id for block in await recent_blocks(store, 5)] == [str(user_id)]
    bad = await client.post(CHAT, json={"model": MODEL, "messages": []}, headers=headers)
    assert bad.status_code == 400 and fast == [True, False]  # refused before the hot path
    results = await asyncio.gather(*(status_of(client, headers) for _ in range(30)))
    assert sorted(results) == [200] * 8 + [429] * 22  # 2 taken before: exactly the limit, atomically
    assert await window_count(store, user_id) == 10


async def test_an_unknown_key_is_refused_before_its_body_is_read(make_app: MakeApp, store: Store) -> None:
    app = await make_app(**CHEAP_HASHING, MAX_BODY_BYTES=1000)
    client = app.test_client()
    response = await client.post(
        CHAT, json={"model": MODEL, "messages": [{"role": "user", "content": "x" * 5000}]},
        headers={"Authorization": "Bearer sk-" + "a" * 48},
    )  # fmt: skip
    assert response.status_code == 401
    assert (await response.get_json())["error"]["code"] == "invalid_api_key"
