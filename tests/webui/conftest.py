"""Fixtures for web-app tests: a started app over the real test store, a client, and an AuthActions helper.

    async def test_something(client, auth):
        await auth.register("alice@example.com")          # signs in too: cookie kept by the client
        response = await client.post("/api/x", json={...}, headers=auth.headers)   # X-CSRF-Token
        # or as an API client: headers=auth.bearer

    async def test_with_providers(make_app, clock):
        app = await make_app(clock=clock, **smtp.settings_update())   # any Settings overrides
        client = app.test_client()

`make_app` builds services with `core.services.build_services` from the `settings` + `store` fixtures (overrides
applied with `model_copy`), creates `webui.create_app(services)`, runs its startup hooks (`app.test_app()`), and
stops it and closes the services at teardown. `clock` is a settable clock for expiry tests (`clock.advance(s)`).
Passwords are hashed at a test cost (FAST_HASHING: argon2id, 1 pass, 8 MiB) unless a test overrides it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from quart import Quart, Response
from quart.typing import TestClientProtocol

from core.services import build_services
from core.settings import Settings
from core.store.connection import Store
from webui import create_app

DEFAULT_PASSWORD = "correct horse battery"
# The production cost (~0.1 s per hash) would dominate the suite; the algorithm and code path stay the same.
FAST_HASHING: dict[str, Any] = {"PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 8_192}

MakeApp = Callable[..., Awaitable[Quart]]
Client = TestClientProtocol  # import this name in test modules: pytest would try to collect a `Test*` class


class FakeClock:
    """A clock that starts at the real time and moves only when told to."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class AuthActions:
    """Register, sign in and out through the JSON API; keeps the token and the CSRF token of the last sign-in."""

    def __init__(self, client: TestClientProtocol) -> None:
        self.client = client
        self.token = ""
        self.csrf_token = ""
        self.user: dict[str, Any] = {}
        self.response: Response | None = None  # the last register / sign-in response (cookies, headers)

    @property
    def headers(self) -> dict[str, str]:
        """Headers for a cookie-authenticated state-changing request."""
        return {"X-CSRF-Token": self.csrf_token}

    @property
    def bearer(self) -> dict[str, str]:
        """Headers for a bearer-token (API client) request."""
        return {"Authorization": f"Bearer {self.token}"}

    async def _signed_in(self, path: str, body: dict[str, Any], status: int) -> dict[str, Any]:
        response = self.response = await self.client.post(path, json=body)
        data: dict[str, Any] = await response.get_json()
        assert response.status_code == status, data
        self.token, self.user = data["token"], data["user"]
        me = await self.client.get("/api/me")
        self.csrf_token = (await me.get_json())["csrf_token"]
        return data

    async def register(self, target: str = "alice@example.com", password: str = DEFAULT_PASSWORD,
                       **fields: Any) -> dict[str, Any]:  # fmt: skip
        """Register an email or phone (extra fields: code, invite_code, name, lang) and keep the session."""
        kind = "email" if "@" in target else "phone"
        return await self._signed_in("/api/auth/register", {kind: target, "password": password, **fields}, 201)

    async def login(self, target: str = "alice@example.com", password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
        """Sign in with a password and keep the session."""
        kind = "email" if "@" in target else "phone"
        return await self._signed_in("/api/auth/login", {kind: target, "password": password}, 200)

    async def login_with_code(self, target: str, code: str) -> dict[str, Any]:
        """Sign in with a login code and keep the session."""
        kind = "email" if "@" in target else "phone"
        return await self._signed_in("/api/auth/login", {kind: target, "code": code}, 200)

    async def logout(self) -> None:
        response = await self.client.post("/api/auth/logout", headers=self.headers)
        assert response.status_code == 200

    async def me(self) -> dict[str, Any] | None:
        """Return the /api/me body, or None when not signed in."""
        response = await self.client.get("/api/me")
        return await response.get_json() if response.status_code == 200 else None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make_app(settings: Settings, store: Store) -> AsyncIterator[MakeApp]:
    """Yield `await make_app(clock=None, **settings_overrides) -> Quart` (started; stopped at teardown)."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(clock: Callable[[], float] | None = None, **overrides: Any) -> Quart:
            current = settings.model_copy(update={**FAST_HASHING, **overrides})
            services = await build_services(current, store, clock=clock or time.time)
            stack.push_async_callback(services.close)
            app = create_app(services)
            await stack.enter_async_context(app.test_app())  # type: ignore[arg-type]  # TestApp is one
            return app

        yield make


@pytest.fixture
async def app(make_app: MakeApp) -> Quart:
    """The web app with the test settings (no email or SMS provider: registration needs no code)."""
    return await make_app()


@pytest.fixture
def client(app: Quart) -> TestClientProtocol:
    return app.test_client()


@pytest.fixture
def auth(client: TestClientProtocol) -> AuthActions:
    return AuthActions(client)
