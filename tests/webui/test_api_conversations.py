"""Conversations through the web API: the real app, store and sessions."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
from quart import Quart
from quart.testing import QuartClient

from core.chat.messages import append_message, new_message
from core.relay.catalogue import Model, Upstream, save_model
from core.store.connection import Store
from tests.webui.conftest import AuthActions

T0 = 1_700_000_000.0


async def _json(response: Any) -> dict[str, Any]:
    return await response.get_json()


async def _error(response: Any) -> tuple[int, str]:
    return response.status_code, str((await _json(response))["error"]["code"])


async def _create(auth: AuthActions, **body: Any) -> dict[str, Any]:
    response = await auth.client.post("/api/conversations", json=body, headers=auth.headers)
    assert response.status_code == 201, await response.get_data()
    return await _json(response)


async def _other_user(app: Quart) -> AuthActions:
    other = AuthActions(app.test_client())
    await other.register("bob@example.com")
    return other


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/conversations"),
        ("POST", "/api/conversations"),
        ("GET", "/api/conversations/abc"),
        ("PATCH", "/api/conversations/abc"),
        ("DELETE", "/api/conversations/abc"),
        ("GET", "/api/conversations/abc/export"),
    ],
)
async def test_signed_out_gets_401(client: QuartClient, method: str, path: str) -> None:
    response = await client.open(path, method=method, json={"title": "t"})
    assert await _error(response) == (401, "not_authenticated")


async def test_create_list_read_rename_delete(auth: AuthActions, store: Store) -> None:
    await auth.register()
    for position, model_id in enumerate(("gpt-4o-mini", "gpt-4o")):
        upstreams = [Upstream("u1", "http://127.0.0.1:9")]
        await save_model(store, Model(model_id, model_id, 128_000, upstreams, position=position))
    first = await _create(auth, model="gpt-4o", title="Plans")
    second = await _create(auth)
    assert first["title"] == "Plans" and first["model"] == "gpt-4o" and first["channel"] == "web"
    assert second["title"] == "" and second["model"] == "gpt-4o-mini"  # the first configured model
    assert set(first) >= {"id", "title", "model", "channel", "created_at", "updated_at"}
    uid = auth.user["id"]
    await append_message(store, uid, first["id"], new_message("user", "Hello there\nmore", T0 + 5))
    await append_message(store, uid, first["id"], new_message("assistant", "Hi!", T0 + 6, "gpt-4o"))

    listed = await _json(await auth.client.get("/api/conversations"))
    assert [c["id"] for c in listed["conversations"]] == [second["id"], first["id"]]

    read = await _json(await auth.client.get(f"/api/conversations/{first['id']}"))
    assert read["conversation"]["message_count"] == 2
    assert [(m["role"], m["content"], m["model"]) for m in read["messages"]] == [
        ("user", "Hello there\nmore", None),
        ("assistant", "Hi!", "gpt-4o"),
    ]
    assert set(read["messages"][0]) == {
        "id", "role", "content", "created_at", "model", "tokens", "truncated", "group", "images"
    }  # fmt: skip

    path = f"/api/conversations/{first['id']}"
    renamed = await auth.client.patch(path, json={"title": "  Trip   notes "}, headers=auth.headers)
    assert renamed.status_code == 200 and (await _json(renamed))["title"] == "Trip notes"

    deleted = await auth.client.delete(path, headers=auth.headers)
    assert (deleted.status_code, await _json(deleted)) == (200, {"ok": True})
    assert await _error(await auth.client.get(path)) == (404, "not_found")
    assert [c["id"] for c in (await _json(await auth.client.get("/api/conversations")))["conversations"]] == [
        second["id"]
    ]


async def test_new_conversations_default_to_the_first_enabled_model(auth: AuthActions, store: Store) -> None:
    await auth.register()
    upstreams = [Upstream("u1", "http://127.0.0.1:9", ["sk-upstream"])]
    await save_model(store, Model("a-retired", "Retired", 32_000, upstreams, enabled=False))
    await save_model(store, Model("deepseek-chat", "DeepSeek", 64_000, upstreams))
    assert (await _create(auth))["model"] == "deepseek-chat"


async def test_search_and_limit(auth: AuthActions) -> None:
    await auth.register()
    for title in ("Python asyncio", "Paris trip", "python typing"):
        await _create(auth, title=title)
    found = await _json(await auth.client.get("/api/conversations?q=PYTHON"))
    assert [c["title"] for c in found["conversations"]] == ["python typing", "Python asyncio"]
    limited = await _json(await auth.client.get("/api/conversations?limit=1"))
    assert len(limited["conversations"]) == 1
    for bad in ("0", "x", "501", "%C2%B2", "-1"):
        response = await auth.client.get(f"/api/conversations?limit={bad}")
        assert await _error(response) == (400, "invalid_input")


async def test_another_users_conversation_is_404_and_untouched(app: Quart, auth: AuthActions) -> None:
    await auth.register()
    mine = await _create(auth, title="Mine")
    path = f"/api/conversations/{mine['id']}"
    bob = await _other_user(app)
    for method in ("GET", "PATCH", "DELETE"):
        response = await bob.client.open(path, method=method, json={"title": "stolen"}, headers=bob.headers)
        assert await _error(response) == (404, "not_found")
    assert await _error(await bob.client.get(f"{path}/export")) == (404, "not_found")
    assert (await _json(await bob.client.get("/api/conversations")))["conversations"] == []
    assert (await _json(await auth.client.get(path)))["conversation"]["title"] == "Mine"


@pytest.mark.parametrize(
    "body",
    [{"title": ""}, {"title": "x" * 101}, {"title": 5}, {"title": "ok", "extra": 1}, {}],
)
async def test_bad_rename_is_400_and_writes_nothing(auth: AuthActions, body: dict[str, Any]) -> None:
    await auth.register()
    conv = await _create(auth, title="Original")
    path = f"/api/conversations/{conv['id']}"
    assert await _error(await auth.client.patch(path, json=body, headers=auth.headers)) == (400, "invalid_input")
    assert (await _json(await auth.client.get(path)))["conversation"]["title"] == "Original"


@pytest.mark.parametrize("body", [{"title": "x" * 101}, {"model": "m" * 101}, {"channel": "api"}, {"model": 3}])
async def test_bad_create_is_400_and_writes_nothing(auth: AuthActions, body: dict[str, Any]) -> None:
    await auth.register()
    response = await auth.client.post("/api/conversations", json=body, headers=auth.headers)
    assert await _error(response) == (400, "invalid_input")
    assert (await _json(await auth.client.get("/api/conversations")))["conversations"] == []


async def test_an_unknown_or_disabled_model_is_refused_and_nothing_written(auth: AuthActions, store: Store) -> None:
    await auth.register()
    await save_model(store, Model("off", "Off", 8_000, [Upstream("u1", "http://127.0.0.1:9")], enabled=False))
    for model_id in ("nope", "off"):
        response = await auth.client.post("/api/conversations", json={"model": model_id}, headers=auth.headers)
        assert await _error(response) == (404, "model_not_found")
    assert (await _json(await auth.client.get("/api/conversations")))["conversations"] == []


async def test_cookie_writes_need_the_csrf_token_and_bearer_works(auth: AuthActions) -> None:
    await auth.register()
    refused = await auth.client.post("/api/conversations", json={})
    assert await _error(refused) == (403, "csrf_failed")
    created = await auth.client.post("/api/conversations", json={"title": "Via bearer"}, headers=auth.bearer)
    assert created.status_code == 201
    listed = await _json(await auth.client.get("/api/conversations", headers=auth.bearer))
    assert [c["title"] for c in listed["conversations"]] == ["Via bearer"]


async def test_export_as_markdown(auth: AuthActions, store: Store) -> None:
    await auth.register()
    conv = await _create(auth, title="周报 draft")
    uid = auth.user["id"]
    await append_message(store, uid, conv["id"], new_message("user", "Summarise my week", T0 + 1))
    await append_message(store, uid, conv["id"], new_message("assistant", "- shipped\n- tested", T0 + 2, "gpt-4o"))
    response = await auth.client.get(f"/api/conversations/{conv['id']}/export")
    assert response.status_code == 200
    assert response.content_type == "text/markdown; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="draft.md"')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "周报 draft.md"
    text = await response.get_data(as_text=True)
    assert text == ("# 周报 draft\n\n**User**\n\nSummarise my week\n\n**Assistant** (gpt-4o)\n\n- shipped\n- tested\n")
