"""The dashboard shell: admin-only sign-in, its own cookie and CSRF, the frame and its navigation."""

from __future__ import annotations

import re
import time
from pathlib import Path

from quart import Quart
from quart import typing as quart_typing

from admin.auth import ADMIN_COOKIE
from admin.views import SECTIONS
from core.accounts.registration import register_user
from core.accounts.users import User, set_blocked, set_role
from core.services import Services
from core.settings import Settings
from tests.admin.conftest import PASSWORD, sign_in
from tests.webui.test_pages import EXPECTED_CSP, assert_csp_clean
from webui import create_app


async def test_signed_out_visitors_see_only_the_sign_in_page(client: quart_typing.TestClientProtocol) -> None:
    for path in ["/", "/users", "/settings"]:
        response = await client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/login", path
    response = await client.get("/login")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == EXPECTED_CSP
    assert response.headers["X-Frame-Options"] == "DENY"
    html = await response.get_data(as_text=True)
    page = assert_csp_clean(html)
    assert page.by_id["login-form"]["data-endpoint"] == "/api/login"
    assert (await client.get("/api/me")).status_code == 401


async def test_admin_signs_in_and_sees_the_frame(client: quart_typing.TestClientProtocol, admin_user: User) -> None:
    response = await client.post("/api/login", json={"email": "ROOT@example.com", "password": PASSWORD})
    assert response.status_code == 200
    body = await response.get_json()
    assert body["user"]["role"] == "admin" and "token" not in body and "password_hash" not in body["user"]
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{ADMIN_COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert (await client.get("/login")).headers["Location"] == "/"
    html = await (await client.get("/plans")).get_data(as_text=True)
    page = assert_csp_clean(html)
    for name, _key in SECTIONS:
        assert f'href="/{name}"' in html
    assert 'href="/plans" class="is-active" aria-current="page"' in html
    assert page.by_id["plans-table"]["tag"] == "table" and page.by_id["plan-form"]["tag"] == "form"
    assert (await client.get("/api/me")).status_code == 200


async def test_non_admins_and_wrong_passwords_are_refused(
    client: quart_typing.TestClientProtocol, services: Services
) -> None:
    await register_user(
        services.store, services.settings, None, email="user@example.com", password=PASSWORD, now=time.time()
    )
    response = await client.post("/api/login", json={"email": "user@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert (await response.get_json())["error"]["code"] == "not_admin"
    assert "Set-Cookie" not in response.headers
    response = await client.post("/api/login", json={"email": "user@example.com", "password": "wrong password"})
    assert response.status_code == 401
    assert (await client.get("/")).status_code == 302


async def test_sign_in_refuses_other_origins_and_non_json(
    client: quart_typing.TestClientProtocol, admin_user: User
) -> None:
    body = {"email": "root@example.com", "password": PASSWORD}
    response = await client.post("/api/login", json=body, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403 and (await response.get_json())["error"]["code"] == "csrf_failed"
    response = await client.post("/api/login", form=body)
    assert response.status_code == 400
    assert (await client.get("/")).status_code == 302


async def test_sign_out_needs_the_csrf_token(client: quart_typing.TestClientProtocol, admin_user: User) -> None:
    csrf = await sign_in(client)
    assert csrf
    response = await client.post("/api/logout")
    assert response.status_code == 403 and (await response.get_json())["error"]["code"] == "csrf_failed"
    assert (await client.get("/")).status_code == 200
    response = await client.post("/api/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200
    assert (await client.get("/")).status_code == 302


async def test_demoted_or_blocked_admins_lose_the_dashboard(
    client: quart_typing.TestClientProtocol, admin_user: User, services: Services
) -> None:
    await sign_in(client)
    await set_role(services.store, admin_user.id, "user")
    assert (await client.get("/")).status_code == 302
    await set_role(services.store, admin_user.id, "admin")
    await sign_in(client)
    await set_blocked(services.store, admin_user.id, True)
    assert (await client.get("/")).status_code == 302


async def test_cookies_do_not_cross_between_the_apps(admin_app: Quart, services: Services, admin_user: User) -> None:
    web = create_app(services)
    async with web.test_app():
        web_client = web.test_client()
        response = await web_client.post("/api/auth/login", json={"email": "root@example.com", "password": PASSWORD})
        web_token = (await response.get_json())["token"]
        admin_client = admin_app.test_client()
        response = await admin_client.post("/api/login", json={"email": "root@example.com", "password": PASSWORD})
        admin_token = response.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
        bare_admin = admin_app.test_client(use_cookies=False)
        refused = await bare_admin.get("/", headers={"Cookie": f"cg_session={web_token}"})
        assert refused.status_code == 302
        allowed = await bare_admin.get("/", headers={"Cookie": f"{ADMIN_COOKIE}={admin_token}"})
        assert allowed.status_code == 200
        bare_web = web.test_client(use_cookies=False)
        assert (await bare_web.get("/api/me", headers={"Cookie": f"{ADMIN_COOKIE}={admin_token}"})).status_code == 401


async def test_language_switch_on_the_dashboard(client: quart_typing.TestClientProtocol) -> None:
    response = await client.get("/lang/en?next=/login")
    assert response.headers["Location"] == "/login" and "cg_lang=en" in response.headers["Set-Cookie"]
    html = await (await client.get("/login")).get_data(as_text=True)
    assert '<html lang="en">' in html and "Administrator sign in" in html


async def test_shared_assets_are_served(client: quart_typing.TestClientProtocol) -> None:
    html = await (await client.get("/login")).get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="(/(?:ui|static)/[^"]+)"', html)
    for prefix in ["/ui/css/app.css?v=", "/ui/js/api.js?v=", "/ui/js/auth.js?v=", "/static/admin.css?v="]:
        assert any(url.startswith(prefix) for url in urls), prefix
    for url in urls:
        response = await client.get(url)
        assert response.status_code == 200, url
        assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_page_titles_name_the_dashboard_once(
    client: quart_typing.TestClientProtocol, admin_user: User, services: Services
) -> None:
    site = services.settings.NEXT_PUBLIC_TITLE

    async def title(path: str) -> str:
        html = await (await client.get(path)).get_data(as_text=True)
        match = re.search(r"<title>(.*?)</title>", html, re.S)
        assert match is not None, path
        return match.group(1)

    assert await title("/login") == f"管理员登录 · 管理后台 · {site}"
    await sign_in(client)
    assert await title("/") == f"管理后台 · {site}"
    assert await title("/plans") == f"套餐 · 管理后台 · {site}"
    await client.get("/lang/en?next=/")
    assert await title("/") == f"Dashboard · {site}"
    assert await title("/plans") == f"Plans · Dashboard · {site}"


async def test_an_admin_made_by_the_cli_gets_the_browsers_language(
    client: quart_typing.TestClientProtocol, admin_user: User
) -> None:
    assert admin_user.lang == ""  # never chosen: the browser decides, then the language switch
    await sign_in(client)
    english = await (await client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})).get_data(as_text=True)
    assert '<html lang="en">' in english
    chinese = await (await client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})).get_data(as_text=True)
    assert '<html lang="zh-CN">' in chinese


async def test_the_dashboard_answers_only_to_its_own_host_names(client: quart_typing.TestClientProtocol) -> None:
    assert (await client.get("/login")).status_code == 200  # Host: localhost
    assert (await client.get("/login", headers={"Host": "127.0.0.1:8001"})).status_code == 200
    rebound = await client.get("/login", headers={"Host": "attacker.example"})
    assert rebound.status_code == 421
    login = await client.post("/api/login", json={"email": "x@example.com", "password": "x" * 10},
                              headers={"Host": "attacker.example:8001"})  # fmt: skip
    assert login.status_code == 421


async def test_a_web_session_is_no_dashboard_session(
    services: Services, client: quart_typing.TestClientProtocol, admin_user: User
) -> None:
    web = create_app(services).test_client()
    signed_in = await web.post("/api/auth/login", json={"email": "root@example.com", "password": PASSWORD})
    token = (await signed_in.get_json())["token"]
    client.set_cookie("localhost", ADMIN_COOKIE, token)
    assert (await client.get("/api/me")).status_code == 401


def test_the_image_keeps_the_dashboard_on_loopback() -> None:
    root = Path(__file__).resolve().parents[2]
    assert "ADMIN_HOST=0.0.0.0" not in (root / "Dockerfile").read_text()
    assert Settings.model_fields["ADMIN_HOST"].default == "127.0.0.1"
    assert '"127.0.0.1:8001:8001"' in (root / "compose.yaml").read_text()
