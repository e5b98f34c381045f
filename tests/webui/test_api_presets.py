"""Prompt presets and the announcement through the web API."""

from __future__ import annotations

from typing import Any

import pytest
from quart import Quart
from quart.testing import QuartClient

from core.site.notice import set_notice
from core.store.connection import Store
from tests.webui.conftest import AuthActions


async def _json(response: Any) -> dict[str, Any]:
    return await response.get_json()


async def _error(response: Any) -> tuple[int, str]:
    return response.status_code, str((await _json(response))["error"]["code"])


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/presets"), ("POST", "/api/presets"), ("PUT", "/api/presets/a"), ("DELETE", "/api/presets/a"),
     ("GET", "/api/notice"), ("POST", "/api/notice/seen")],
)  # fmt: skip
async def test_signed_out_gets_401(client: QuartClient, method: str, path: str) -> None:
    response = await client.open(path, method=method, json={"name": "n", "prompt": "p"})
    assert await _error(response) == (401, "not_authenticated")


async def test_preset_crud(auth: AuthActions) -> None:
    await auth.register()
    created = await auth.client.post(
        "/api/presets", json={"name": "Translator", "prompt": "Translate to English."}, headers=auth.headers
    )
    assert created.status_code == 201
    preset = await _json(created)
    assert set(preset) == {"id", "name", "prompt", "created_at"}
    path = f"/api/presets/{preset['id']}"
    updated = await auth.client.put(path, json={"name": "译者", "prompt": "翻译成中文。"}, headers=auth.headers)
    assert (await _json(updated))["name"] == "译者"
    listed = await _json(await auth.client.get("/api/presets"))
    assert [(p["id"], p["prompt"]) for p in listed["presets"]] == [(preset["id"], "翻译成中文。")]
    deleted = await auth.client.delete(path, headers=auth.headers)
    assert (deleted.status_code, await _json(deleted)) == (200, {"ok": True})
    assert (await _json(await auth.client.get("/api/presets")))["presets"] == []


async def test_another_users_preset_is_404(app: Quart, auth: AuthActions) -> None:
    await auth.register()
    body = {"name": "Mine", "prompt": "p"}
    preset = await _json(await auth.client.post("/api/presets", json=body, headers=auth.headers))
    bob = AuthActions(app.test_client())
    await bob.register("bob@example.com")
    path = f"/api/presets/{preset['id']}"
    assert await _error(await bob.client.delete(path, headers=bob.headers)) == (404, "not_found")
    steal = await bob.client.put(path, json={"name": "x", "prompt": "y"}, headers=bob.headers)
    assert await _error(steal) == (404, "not_found")
    assert [p["name"] for p in (await _json(await auth.client.get("/api/presets")))["presets"]] == ["Mine"]


@pytest.mark.parametrize(
    "body", [{"name": "", "prompt": "p"}, {"name": "n" * 61, "prompt": "p"}, {"name": "n", "prompt": "p" * 8001},
             {"name": "n"}, {"name": "n", "prompt": "p", "id": "x"}],
)  # fmt: skip
async def test_bad_preset_is_400_and_nothing_written(auth: AuthActions, body: dict[str, Any]) -> None:
    await auth.register()
    response = await auth.client.post("/api/presets", json=body, headers=auth.headers)
    assert await _error(response) == (400, "invalid_input")
    assert (await _json(await auth.client.get("/api/presets")))["presets"] == []


async def test_notice_versions(auth: AuthActions, store: Store) -> None:
    await auth.register()
    assert await _json(await auth.client.get("/api/notice")) == {}
    await set_notice(store, "# 公告\n\n新模型上线", 1_700_000_000.0)
    first = await _json(await auth.client.get("/api/notice"))
    assert first == {"version": 1, "markdown": "# 公告\n\n新模型上线", "updated_at": 1_700_000_000.0, "seen": False}
    await set_notice(store, "Maintenance tonight", 1_700_000_100.0)
    assert (await _json(await auth.client.get("/api/notice")))["version"] == 2


async def test_a_seen_notice_stays_seen_on_every_device_until_a_new_version(
    auth: AuthActions, store: Store, app: Quart
) -> None:
    await auth.register()
    await set_notice(store, "v1", 1_700_000_000.0)
    seen = await auth.client.post("/api/notice/seen", json={"version": 1}, headers=auth.headers)
    assert await _json(seen) == {"ok": True}
    laptop = AuthActions(app.test_client())
    await laptop.login()  # another browser of the same account
    assert (await _json(await laptop.client.get("/api/notice")))["seen"] is True
    old_tab = await auth.client.post("/api/notice/seen", json={"version": 0}, headers=auth.headers)
    assert await _error(old_tab) == (400, "invalid_input")
    await set_notice(store, "v2", 1_700_000_100.0)
    assert (await _json(await laptop.client.get("/api/notice")))["seen"] is False
    await laptop.client.post("/api/notice/seen", json={"version": 2}, headers=laptop.headers)
    await auth.client.post("/api/notice/seen", json={"version": 1}, headers=auth.headers)  # a stale tab
    assert (await _json(await auth.client.get("/api/notice")))["seen"] is True  # never moves back
    refused = await auth.client.post("/api/notice/seen", json={"version": 2})
    assert await _error(refused) == (403, "csrf_failed")
