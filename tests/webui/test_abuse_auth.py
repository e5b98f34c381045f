"""Abuse resistance of the auth surface: client address, enumeration, API-key scope, JSON only, progressive delay."""

from __future__ import annotations

from typing import Any

from quart import Quart

from core.accounts.api_keys import create_api_key
from core.accounts.registration import register_user
from core.store.connection import Store
from tests.fakes.smtp import SmtpFake
from tests.webui.conftest import DEFAULT_PASSWORD, AuthActions, Client, MakeApp

EMAIL = "alice@example.com"


async def _code(response: Any) -> str:
    return str((await response.get_json())["error"]["code"])


# --- item 3: the client's address is the one our nearest proxy saw --------------------------------------------------
async def test_a_rotated_leftmost_forwarded_for_entry_does_not_dodge_per_ip_limits(make_app: MakeApp) -> None:
    app = await make_app(TRUST_PROXY_HEADERS=True, TRUSTED_PROXY_COUNT=1, LOGIN_MAX_FAILS_PER_IP=3)
    client = app.test_client()
    store: Store = app.extensions["services"].store
    statuses = []
    for attempt in range(5):  # an attacker makes up the leftmost entry; our proxy appended the real peer
        headers = {"X-Forwarded-For": f"10.0.0.{attempt}, 203.0.113.9"}
        body = {"email": f"nobody{attempt}@example.com", "password": "wrong password"}
        statuses.append((await client.post("/api/auth/login", json=body, headers=headers)).status_code)
    assert statuses == [401, 401, 401, 429, 429]
    assert await store.redis.get(store.keys.login_fails_ip("203.0.113.9")) == "3"
    assert not await store.redis.exists(store.keys.login_fails_ip("10.0.0.0"))


async def test_two_trusted_proxies_take_the_second_entry_from_the_right(make_app: MakeApp) -> None:
    app = await make_app(TRUST_PROXY_HEADERS=True, TRUSTED_PROXY_COUNT=2)
    client = app.test_client()
    store: Store = app.extensions["services"].store
    body = {"email": "nobody@example.com", "password": "wrong password"}
    await client.post("/api/auth/login", json=body, headers={"X-Forwarded-For": "1.1.1.1, 198.51.100.7, 10.0.0.2"})
    assert await store.redis.get(store.keys.login_fails_ip("198.51.100.7")) == "1"
    # Fewer entries than trusted proxies: it did not come through them; the peer counts.
    await client.post("/api/auth/login", json=body, headers={"X-Forwarded-For": "5.5.5.5"})
    assert not await store.redis.exists(store.keys.login_fails_ip("5.5.5.5"))


# --- item 4: account enumeration costs what sending codes would -----------------------------------------------------
async def test_probing_addresses_with_register_codes_hits_the_per_ip_cap(make_app: MakeApp) -> None:
    async with SmtpFake() as smtp:
        app = await make_app(CODE_DAILY_CAP_PER_IP=3, **smtp.settings_update())
        services = app.extensions["services"]
        for number in range(5):  # five accounts exist
            await register_user(
                services.store, services.settings, None, email=f"user{number}@example.com", password=DEFAULT_PASSWORD,
                now=1.0,
            )  # fmt: skip
        prober = app.test_client()
        answers = []
        for number in range(5):
            body = {"target": f"user{number}@example.com", "purpose": "register"}
            answers.append(await _code(await prober.post("/api/auth/code", json=body)))
        assert answers == ["already_registered"] * 3 + ["code_daily_cap"] * 2  # no answer past the cap
        assert smtp.messages == []


async def test_a_409_on_register_is_throttled_like_a_failed_sign_in(make_app: MakeApp) -> None:
    app = await make_app(LOGIN_MAX_FAILS_PER_IP=3)
    await AuthActions(app.test_client()).register(EMAIL)
    prober = app.test_client()
    statuses = []
    for _ in range(4):
        body = {"email": EMAIL, "password": DEFAULT_PASSWORD}
        statuses.append((await prober.post("/api/auth/register", json=body)).status_code)
    assert statuses == [409, 409, 409, 429]


async def test_a_successful_registration_costs_no_attempt(make_app: MakeApp) -> None:
    app = await make_app(LOGIN_MAX_FAILS_PER_IP=2)
    for number in range(4):
        await AuthActions(app.test_client()).register(f"new{number}@example.com")


# --- item 5: an API key is no web credential ------------------------------------------------------------------------
async def test_an_api_key_works_on_v1_and_read_only_quota_and_usage_only(
    app: Quart, store: Store, auth: AuthActions
) -> None:
    await auth.register(EMAIL)
    created = await auth.client.post("/api/conversations", json={"title": "mine"}, headers=auth.headers)
    conversation_id = (await created.get_json())["id"]
    _, key = await create_api_key(store, auth.user["id"], "laptop", 1.0)
    client, bearer = app.test_client(), {"Authorization": f"Bearer {key}"}
    for method, path in [("GET", "/api/models"), ("GET", "/api/usage"), ("GET", "/v1/models"), ("GET", "/api/me")]:
        assert (await client.open(path, method=method, headers=bearer)).status_code == 200, path
    refused = [
        ("GET", "/api/conversations", None), ("GET", f"/api/conversations/{conversation_id}", None),
        ("GET", f"/api/conversations/{conversation_id}/export", None),
        ("DELETE", f"/api/conversations/{conversation_id}", None), ("PATCH", "/api/account", {"name": "x"}),
        ("POST", "/api/quota/reset", None), ("POST", "/api/chat", {"model": "m", "content": "hi"}),
        ("GET", "/api/presets", None), ("GET", "/api/keys", None), ("GET", "/api/sessions", None),
        ("GET", "/api/account/invites", None),
    ]  # fmt: skip
    for method, path, body in refused:
        response = await client.open(path, method=method, headers=bearer, json=body)
        assert (response.status_code, await _code(response)) == (403, "forbidden"), path
    assert (await auth.client.get(f"/api/conversations/{conversation_id}")).status_code == 200  # still there


async def _key_status(app: Quart, key: str) -> int:
    return int((await app.test_client().get("/v1/models", headers={"Authorization": f"Bearer {key}"})).status_code)


async def test_a_password_change_can_revoke_api_keys_and_a_reset_does(make_app: MakeApp) -> None:
    async with SmtpFake() as smtp:
        app = await make_app(**smtp.settings_update())
        store: Store = app.extensions["services"].store
        auth = AuthActions(app.test_client())
        await auth.client.post("/api/auth/code", json={"target": EMAIL, "purpose": "register"})
        await auth.register(EMAIL, code=smtp.code_for(EMAIL))
        _, kept = await create_api_key(store, auth.user["id"], "kept", 1.0)
        body = {"old_password": DEFAULT_PASSWORD, "new_password": "new password 1"}
        changed = await auth.client.post("/api/account/password", json=body, headers=auth.headers)
        assert "api_keys_revoked" not in await changed.get_json()
        assert (
            await app.test_client().get("/v1/models", headers={"Authorization": f"Bearer {kept}"})
        ).status_code == 200
        body = {"old_password": "new password 1", "new_password": "new password 2", "revoke_api_keys": True}
        changed = await auth.client.post("/api/account/password", json=body, headers=auth.headers)
        assert (await changed.get_json())["api_keys_revoked"] == 1
        assert (
            await app.test_client().get("/v1/models", headers={"Authorization": f"Bearer {kept}"})
        ).status_code == 401
        _, leaked = await create_api_key(store, auth.user["id"], "leaked", 2.0)
        await store.redis.delete(store.keys.code_cooldown(EMAIL))
        await auth.client.post("/api/auth/code", json={"target": EMAIL, "purpose": "reset"})
        reset = {"target": EMAIL, "code": smtp.code_for(EMAIL), "password": "reset password 1"}
        assert (await app.test_client().post("/api/auth/reset", json=reset)).status_code == 200
        assert (
            await app.test_client().get("/v1/models", headers={"Authorization": f"Bearer {leaked}"})
        ).status_code == 401


# --- item 7c: JSON bodies must say so ------------------------------------------------------------------------------
async def test_json_endpoints_refuse_other_content_types(client: Client, auth: AuthActions) -> None:
    await auth.register(EMAIL)
    plain = {"Content-Type": "text/plain"}
    body = b'{"email": "alice@example.com", "password": "correct horse battery"}'
    response = await client.post("/api/auth/login", data=body, headers=plain)
    assert (response.status_code, await _code(response)) == (415, "unsupported_media_type")
    patch = await client.patch("/api/account", data=b'{"name": "x"}', headers={**plain, **auth.headers})
    assert patch.status_code == 415
    key_call = await client.post("/v1/chat/completions", data=b"{}", headers={**plain, **auth.bearer})
    assert key_call.status_code == 415 and (await key_call.get_json())["error"]["code"] == "unsupported_media_type"
    assert (
        await client.post("/api/auth/login", data=body, headers={"Content-Type": "application/json"})
    ).status_code == 200
