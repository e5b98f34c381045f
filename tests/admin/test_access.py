"""Every dashboard API route refuses what is not an administrator's dashboard session: nobody (401), an API key
(401), a web session (401), a signed-in user who is not (or no longer) an admin (403); changes need the CSRF token.
The admin port is loopback by default (tests/admin/test_admin_shell.py checks the image and compose file)."""

from __future__ import annotations

import re
import time

from quart import Quart
from quart import typing as quart_typing

from admin.auth import ADMIN_COOKIE
from core.accounts.api_keys import create_api_key
from core.accounts.registration import register_user
from core.accounts.sessions import create_session
from core.accounts.users import User, set_role
from core.services import Services
from core.settings import Settings
from tests.admin.conftest import PASSWORD, sign_in
from webui import create_app


def admin_routes(app: Quart) -> list[tuple[str, str]]:
    """Every (method, path) of the dashboard's JSON API but the sign-in and sign-out, with sample ids filled in."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in ("/api/login", "/api/logout"):
            continue
        path = re.sub(r"<int:[^>]+>", "7", rule.rule)
        path = re.sub(r"<(?:path:)?[^>]+>", "sample", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):  # type: ignore[operator]
            routes.append((method, path))
    return routes


def test_the_api_covers_every_section(admin_app: Quart) -> None:
    paths = {path for _, path in admin_routes(admin_app)}
    for expected in ["/api/stats", "/api/users", "/api/users/7", "/api/users/7/block", "/api/users/7/grant",
                     "/api/users/7/reset-chances", "/api/users/7/revoke-sessions", "/api/plans", "/api/plans/sample",
                     "/api/orders", "/api/orders/sample", "/api/orders/sample/refund", "/api/orders/reconcile",
                     "/api/codes", "/api/notice", "/api/models", "/api/models/sample", "/api/upstreams",
                     "/api/upstreams/sample", "/api/upstreams/sample/test", "/api/moderation", "/api/moderation/log",
                     "/api/settings", "/api/audit"]:  # fmt: skip
        assert expected in paths, expected
    assert len(admin_routes(admin_app)) >= 35


async def test_every_route_refuses_everyone_but_an_admin(
    admin_app: Quart, client: quart_typing.TestClientProtocol, services: Services, settings: Settings,
    admin_user: User,
) -> None:  # fmt: skip
    user = await register_user(services.store, settings, None, email="user@example.com", password=PASSWORD,
                               now=time.time())  # fmt: skip
    _, api_key = await create_api_key(services.store, user.id, "cli", time.time())
    web = create_app(services).test_client()
    web_token = (await (await web.post("/api/auth/login", json={"email": "user@example.com", "password": PASSWORD}))
                 .get_json())["token"]  # fmt: skip
    # A signed-in administrator who is then demoted: a live dashboard session of a non-admin.
    issued = await create_session(services.store, settings, services.jwt_secret, admin_user.id, ip="127.0.0.1",
                                  agent="test", now=time.time(), app="admin")  # fmt: skip
    await set_role(services.store, admin_user.id, "user")
    demoted = {"Cookie": f"{ADMIN_COOKIE}={issued.token}", "X-CSRF-Token": issued.session.csrf}
    for method, path in admin_routes(admin_app):
        body = {} if method in ("POST", "PUT") else None
        nobody = await client.open(path, method=method, json=body)
        assert nobody.status_code == 401, (method, path)
        for headers in ({"Authorization": f"Bearer {api_key}"}, {"Authorization": f"Bearer {web_token}"},
                        {"Cookie": f"{ADMIN_COOKIE}={web_token}"}):  # fmt: skip
            bare = admin_app.test_client(use_cookies=False)
            refused = await bare.open(path, method=method, json=body, headers=headers)
            assert refused.status_code == 401, (method, path, headers)
        not_admin = await admin_app.test_client(use_cookies=False).open(path, method=method, json=body,
                                                                        headers=demoted)  # fmt: skip
        assert not_admin.status_code == 403, (method, path)
        assert (await not_admin.get_json())["error"]["code"] == "not_admin"


async def test_changes_need_the_csrf_token_and_our_origin(
    admin_app: Quart, client: quart_typing.TestClientProtocol, admin_user: User
) -> None:
    csrf = await sign_in(client)
    for method, path in admin_routes(admin_app):
        if method == "GET":
            continue
        body = {} if method in ("POST", "PUT") else None
        missing = await client.open(path, method=method, json=body)
        assert missing.status_code == 403 and (await missing.get_json())["error"]["code"] == "csrf_failed", path
        cross = await client.open(path, method=method, json=body,
                                  headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})  # fmt: skip
        assert cross.status_code == 403, path
