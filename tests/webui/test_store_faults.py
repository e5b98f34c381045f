"""The store goes away and comes back: clear 503s meanwhile, no crash, nothing acknowledged lost, no restart needed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from quart import Quart

from core.accounts.api_keys import create_api_key
from core.accounts.users import find_user_by_target
from core.services import build_services
from core.settings import Settings
from core.store.connection import connect
from core.store.embedded import EmbeddedStore
from tests.webui.conftest import FAST_HASHING, AuthActions
from webui import create_app


@pytest.fixture
async def app(own_store: EmbeddedStore, settings: Settings) -> AsyncIterator[Quart]:
    own = settings.model_copy(
        update={**FAST_HASHING, "REDIS_URL": own_store.url, "REDIS_CLUSTER": False, "REGISTER_MAX_PER_IP": 1000,
                "REGISTER_MAX_PER_SUBNET": 1000}  # one test client signs up many accounts
    )  # fmt: skip
    services = await build_services(own, connect(own_store.url))
    app = create_app(services)
    async with app.test_app():
        yield app
    await services.close()


async def test_a_store_away_gives_clear_503s_and_the_app_recovers_by_itself(
    app: Quart, own_store: EmbeddedStore
) -> None:
    auth = AuthActions(app.test_client())
    await auth.register("kept@example.com")
    services = app.extensions["services"]
    _, key = await create_api_key(services.store, auth.user["id"], "k", time.time())
    await asyncio.to_thread(own_store.stop)
    away = await auth.client.get("/api/me")
    assert away.status_code == 503 and (await away.get_json())["error"]["code"] == "store_unavailable"
    assert away.headers["Retry-After"] == "5"
    v1 = await app.test_client().get("/v1/models", headers={"Authorization": f"Bearer {key}"})
    assert v1.status_code == 503 and (await v1.get_json())["error"]["type"] == "server_error"
    assert (await app.test_client().get("/readyz")).status_code == 503
    assert (await app.test_client().get("/healthz")).status_code == 200  # the process itself is fine
    await asyncio.to_thread(own_store.start)  # the same data directory: its append-only file
    me = await auth.client.get("/api/me")
    assert me.status_code == 200 and (await me.get_json())["user"]["email"] == "kept@example.com"


async def test_accounts_acknowledged_around_a_store_restart_are_all_kept(app: Quart, own_store: EmbeddedStore) -> None:
    acknowledged: list[str] = []

    async def sign_up(number: int) -> None:
        email = f"u{number}@example.com"
        response = await app.test_client().post(
            "/api/auth/register", json={"email": email, "password": "correct horse battery"}
        )
        if response.status_code == 201:
            acknowledged.append(email)
        else:
            assert response.status_code == 503, await response.get_data(as_text=True)

    async def restart() -> None:
        await asyncio.sleep(0.05)
        await asyncio.to_thread(own_store.stop)  # SIGTERM: the server writes its append-only file out
        await asyncio.to_thread(own_store.start)

    load = [sign_up(number) for number in range(60)]
    await asyncio.gather(restart(), *load)
    await asyncio.gather(*(sign_up(number) for number in range(60, 70)))  # after the restart
    services = app.extensions["services"]
    assert len(acknowledged) >= 10
    for email in acknowledged:
        assert await find_user_by_target(services.store, email) is not None, email
