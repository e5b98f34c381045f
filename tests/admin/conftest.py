"""Dashboard test fixtures: the admin app over the real test store, an administrator, and a signed-in client that
sends the CSRF token (`dash`)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from quart import Quart
from quart import typing as quart_typing

from admin import create_admin_app
from core.accounts.registration import create_admin
from core.accounts.users import User
from core.services import Services, build_services
from core.settings import Settings
from core.store.connection import Store
from tests.webui.test_pages import parse

PASSWORD = "admin password 123"


@pytest.fixture
async def services(settings: Settings, store: Store) -> AsyncIterator[Services]:
    built = await build_services(settings, store)
    yield built
    await built.close()


@pytest.fixture
async def admin_app(services: Services) -> AsyncIterator[Quart]:
    app = create_admin_app(services)
    async with app.test_app():
        yield app


@pytest.fixture
def client(admin_app: Quart) -> quart_typing.TestClientProtocol:
    return admin_app.test_client()


@pytest.fixture
async def admin_user(services: Services) -> User:
    return await create_admin(
        services.store, services.settings, email="root@example.com", password=PASSWORD, now=time.time()
    )


async def sign_in(
    client: quart_typing.TestClientProtocol, email: str = "root@example.com", password: str = PASSWORD
) -> str:
    """Sign in through the JSON endpoint; return the CSRF token the dashboard page carries."""
    response = await client.post("/api/login", json={"email": email, "password": password})
    assert response.status_code == 200, await response.get_json()
    page = parse(await (await client.get("/")).get_data(as_text=True))
    return next(str(a["content"]) for tag, a in page.tags if tag == "meta" and a.get("name") == "csrf-token")


class Dash:
    """A signed-in administrator's client: JSON calls with the CSRF token, answers checked against a status."""

    def __init__(self, client: quart_typing.TestClientProtocol, csrf: str) -> None:
        self.client = client
        self.csrf = csrf

    async def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        kwargs: dict[str, Any] = {"headers": {"X-CSRF-Token": self.csrf}}
        if body is not None:
            kwargs["json"] = body
        response = await self.client.open(path, method=method, **kwargs)
        data = await response.get_json()
        assert response.status_code == status, (method, path, response.status_code, data)
        return data

    async def get(self, path: str, status: int = 200) -> Any:
        return await self.call("GET", path, status=status)


@pytest.fixture
async def dash(client: quart_typing.TestClientProtocol, admin_user: User) -> Dash:
    return Dash(client, await sign_in(client))
