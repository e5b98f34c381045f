"""Personal API keys through the web API: created once, listed without the secret, usable, revocable."""

from __future__ import annotations

from typing import Any

import pytest
from quart import Quart
from quart.testing import QuartClient

from core.accounts.api_keys import MAX_KEYS_PER_USER
from core.store.connection import Store
from tests.webui.conftest import AuthActions


async def _json(response: Any) -> dict[str, Any]:
    return await response.get_json()


async def _error(response: Any) -> tuple[int, str]:
    return response.status_code, str((await _json(response))["error"]["code"])


async def _create_key(auth: AuthActions, name: str = "laptop") -> dict[str, Any]:
    response = await auth.client.post("/api/keys", json={"name": name}, headers=auth.headers)
    assert response.status_code == 201, await response.get_data()
    return await _json(response)


async def _store_text(store: Store) -> str:
    """Every key name and value in the test database, read by type, as one string."""
    readers = {
        "string": store.redis.get,
        "hash": store.redis.hgetall,
        "list": lambda name: store.redis.lrange(name, 0, -1),
        "set": store.redis.smembers,
        "zset": lambda name: store.redis.zrange(name, 0, -1, withscores=True),
        "stream": lambda name: store.redis.xrange(name),
    }
    parts = []
    async for name in store.redis.scan_iter(match="*"):
        parts.append(f"{name}={await readers[str(await store.redis.type(name))](name)!r}")
    return "\n".join(parts)


def _as_key(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/keys"), ("POST", "/api/keys"), ("DELETE", "/api/keys/abc")])
async def test_signed_out_gets_401(client: QuartClient, method: str, path: str) -> None:
    response = await client.open(path, method=method, json={"name": "n"})
    assert await _error(response) == (401, "not_authenticated")


async def test_create_shows_the_key_once_and_it_authenticates(auth: AuthActions, store: Store) -> None:
    await auth.register()
    created = await _create_key(auth, "CI runner")
    key = created["key"]
    assert key.startswith("sk-") and len(key) == 51
    assert set(created) >= {"key", "id", "name", "created_at"} and created["name"] == "CI runner"
    listed_response = await auth.client.get("/api/keys")
    assert key not in await listed_response.get_data(as_text=True)
    listed = (await _json(listed_response))["keys"]
    assert listed == [
        {
            "id": created["id"],
            "name": "CI runner",
            "prefix": created["prefix"],
            "created_at": created["created_at"],
            "last_used_at": None,
        }
    ]
    # A fresh client with only the key: no cookie, no CSRF token needed.
    api_client = auth.client.app.test_client()
    me = await api_client.get("/api/me", headers=_as_key(key))
    assert me.status_code == 200 and (await _json(me))["user"]["id"] == auth.user["id"]
    listed_models = await api_client.get("/v1/models", headers=_as_key(key))
    assert listed_models.status_code == 200
    assert (await _json(await auth.client.get("/api/keys")))["keys"][0]["last_used_at"] is not None
    # Hashed at rest: the plaintext is nowhere in the store.
    everything = await _store_text(store)
    assert created["id"] in everything and key[3:] not in everything


async def test_revoke_stops_the_key(auth: AuthActions) -> None:
    await auth.register()
    created = await _create_key(auth)
    api_client = auth.client.app.test_client()
    assert (await api_client.get("/v1/models", headers=_as_key(created["key"]))).status_code == 200
    revoked = await auth.client.delete(f"/api/keys/{created['id']}", headers=auth.headers)
    assert (revoked.status_code, await _json(revoked)) == (200, {"ok": True})
    assert await _error(await api_client.get("/api/usage", headers=_as_key(created["key"]))) == (
        401,
        "not_authenticated",
    )
    assert (await _json(await auth.client.get("/api/keys")))["keys"] == []
    again = await auth.client.delete(f"/api/keys/{created['id']}", headers=auth.headers)
    assert await _error(again) == (404, "not_found")


async def test_another_users_key_is_404_and_keeps_working(app: Quart, auth: AuthActions) -> None:
    await auth.register()
    created = await _create_key(auth)
    bob = AuthActions(app.test_client())
    await bob.register("bob@example.com")
    assert await _error(await bob.client.delete(f"/api/keys/{created['id']}", headers=bob.headers)) == (
        404,
        "not_found",
    )
    assert (await _json(await bob.client.get("/api/keys")))["keys"] == []
    me = await app.test_client().get("/api/me", headers=_as_key(created["key"]))
    assert (await _json(me))["user"]["id"] == auth.user["id"]


@pytest.mark.parametrize("body", [{"name": ""}, {"name": "   "}, {"name": "n" * 65}, {}, {"name": "a", "x": 1}])
async def test_bad_name_is_400_and_nothing_written(auth: AuthActions, body: dict[str, Any]) -> None:
    await auth.register()
    response = await auth.client.post("/api/keys", json=body, headers=auth.headers)
    assert await _error(response) == (400, "invalid_input")
    assert (await _json(await auth.client.get("/api/keys")))["keys"] == []


async def test_an_api_key_cannot_manage_keys(auth: AuthActions) -> None:
    await auth.register()
    created = await _create_key(auth)
    api_client = auth.client.app.test_client()
    headers = _as_key(created["key"])
    assert await _error(await api_client.get("/api/keys", headers=headers)) == (403, "forbidden")
    minted = await api_client.post("/api/keys", json={"name": "more"}, headers=headers)
    assert await _error(minted) == (403, "forbidden")
    gone = await api_client.delete(f"/api/keys/{created['id']}", headers=headers)
    assert await _error(gone) == (403, "forbidden")
    assert len((await _json(await auth.client.get("/api/keys")))["keys"]) == 1


async def test_key_count_is_capped(auth: AuthActions) -> None:
    await auth.register()
    for i in range(MAX_KEYS_PER_USER):
        await _create_key(auth, f"k{i}")
    response = await auth.client.post("/api/keys", json={"name": "one too many"}, headers=auth.headers)
    assert await _error(response) == (400, "limit_reached")
    assert len((await _json(await auth.client.get("/api/keys")))["keys"]) == MAX_KEYS_PER_USER
