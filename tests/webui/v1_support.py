"""A signed-up user with a personal API key on a started web app: what the /v1 tests call with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quart import Quart

from core.store.connection import Store
from tests.chat_support import CHEAP_HASHING, MODEL, add_model, set_plan
from tests.fakes.openai_upstream import FakeUpstream
from tests.webui.conftest import AuthActions, Client, MakeApp

CHAT = "/v1/chat/completions"
HELLO = [{"role": "user", "content": "Hello"}]


@dataclass
class Caller:
    app: Quart
    auth: AuthActions
    key: str

    @property
    def client(self) -> Client:
        return self.auth.client

    @property
    def user_id(self) -> int:
        return int(self.auth.user["id"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def chat(self, **body: Any) -> Any:
        return await self.client.post(CHAT, json={"model": MODEL, "messages": HELLO, **body}, headers=self.headers)


async def make_caller(make_app: MakeApp, store: Store, fake: FakeUpstream, limit: int = 10, **settings: Any) -> Caller:
    """Start the app, store a model served by `fake` with a free-plan limit, sign up and create an API key."""
    app = await make_app(**CHEAP_HASHING, **settings)
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (limit, "3h")})
    auth = AuthActions(app.test_client())
    await auth.register()
    response = await auth.client.post("/api/keys", json={"name": "tests"}, headers=auth.headers)
    assert response.status_code == 201
    return Caller(app, auth, (await response.get_json())["key"])
