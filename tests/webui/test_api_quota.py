from typing import Any

import pytest
from quart import Quart

from core.billing.plans import import_plans
from core.billing.quotas import consume_quota
from core.billing.subscriptions import add_subscription, current_plan
from core.relay.catalogue import Model, Upstream, save_model
from core.store.connection import Store
from tests.webui.conftest import AuthActions, Client, FakeClock, MakeApp

UPSTREAM = Upstream(id="fake", base_url="http://127.0.0.1:9/v1", keys=["sk-test"])
PLANS: list[dict[str, Any]] = [
    {"name": "free", "title": "Free", "prices": {}, "limits": {"mini": {"limit": 2, "window": "3h"}}},
    {
        "name": "pro",
        "title": "Pro",
        "prices": {"monthly": 2900},
        "limits": {"mini": {"limit": 50, "window": "3h"}, "big": {"limit": 5, "window": "1d"}},
    },
]


@pytest.fixture
async def app(make_app: MakeApp, store: Store, clock: FakeClock) -> Quart:
    await save_model(store, Model(id="mini", name="Mini", context_window=128_000, upstreams=[UPSTREAM]))
    await save_model(store, Model(id="big", name="Big", context_window=200_000, upstreams=[UPSTREAM], position=1))
    await save_model(store, Model(id="old", name="Old", upstreams=[UPSTREAM], enabled=False, position=2))
    await import_plans(store, PLANS)
    return await make_app(clock=clock)


async def get_models(client: Client) -> dict[str, Any]:
    response = await client.get("/api/models")
    assert response.status_code == 200
    data: dict[str, Any] = await response.get_json()
    return data


async def use_up(store: Store, user_id: Any, model: str, times: int, now: float) -> None:
    plan = await current_plan(store, user_id, now)
    for _ in range(times):
        await consume_quota(store, user_id, plan, model, now)


async def test_models_show_the_plan_and_the_quota_consume_uses(
    client: Client, auth: AuthActions, store: Store, clock: FakeClock
) -> None:
    await auth.register()
    data = await get_models(client)
    assert data["plan"] == {"name": "free", "title": "Free"}
    assert data["reset_chances"] == 0
    assert data["models"] == [
        {"id": "mini", "name": "Mini", "context_window": 128_000, "input_types": ["text"], "allowed": True,
         "limit": 2, "remaining": 2, "window": "3h", "resets_in": 0},
        {"id": "big", "name": "Big", "context_window": 200_000, "input_types": ["text"], "allowed": False,
         "limit": 0, "remaining": 0, "window": None, "resets_in": 0},
    ]  # fmt: skip
    await use_up(store, auth.user["id"], "mini", 2, clock())
    clock.advance(600)
    mini = (await get_models(client))["models"][0]
    assert (mini["remaining"], mini["resets_in"]) == (0, 3 * 3600 - 600)


async def test_a_subscription_changes_the_models(
    client: Client, auth: AuthActions, store: Store, clock: FakeClock
) -> None:
    await auth.register()
    await add_subscription(store, auth.user["id"], "pro", 86_400, clock(), order_id="o-1")
    data = await get_models(client)
    assert data["plan"] == {"name": "pro", "title": "Pro"}
    assert [(m["id"], m["allowed"], m["limit"]) for m in data["models"]] == [("mini", True, 50), ("big", True, 5)]
    clock.advance(86_400)  # the subscription ended (the session is still alive): back to free
    assert (await get_models(client))["plan"]["name"] == "free"


async def test_reset_spends_a_chance_and_frees_the_windows(
    client: Client, auth: AuthActions, store: Store, clock: FakeClock
) -> None:
    await auth.register()
    user_id = auth.user["id"]
    await use_up(store, user_id, "mini", 2, clock())
    response = await client.post("/api/quota/reset", headers=auth.headers)
    assert response.status_code == 400
    assert (await response.get_json())["error"]["code"] == "no_reset_chances"
    assert (await get_models(client))["models"][0]["remaining"] == 0  # nothing cleared

    await store.redis.hset(store.keys.user(user_id), "reset_chances", 2)
    response = await client.post("/api/quota/reset", headers=auth.headers)
    assert response.status_code == 200
    assert await response.get_json() == {"reset_chances": 1}
    data = await get_models(client)
    assert (data["models"][0]["remaining"], data["reset_chances"]) == (2, 1)


async def test_reset_needs_the_csrf_token_with_a_cookie(client: Client, auth: AuthActions, store: Store) -> None:
    await auth.register()
    await store.redis.hset(store.keys.user(auth.user["id"]), "reset_chances", 1)
    response = await client.post("/api/quota/reset")
    assert response.status_code == 403
    assert await store.redis.hget(store.keys.user(auth.user["id"]), "reset_chances") == "1"


async def test_bearer_clients_can_reset_without_csrf(app: Quart, auth: AuthActions, store: Store) -> None:
    await auth.register()
    await store.redis.hset(store.keys.user(auth.user["id"]), "reset_chances", 1)
    response = await app.test_client().post("/api/quota/reset", headers=auth.bearer)
    assert response.status_code == 200
    assert await response.get_json() == {"reset_chances": 0}


async def test_signed_out_callers_are_refused(client: Client) -> None:
    assert (await client.get("/api/models")).status_code == 401
    assert (await client.post("/api/quota/reset")).status_code == 401
