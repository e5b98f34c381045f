"""No dashboard page or API answer carries a configured secret: OPENAI_API_KEY (which also seeds the first
upstream's key), XUNHU_PAY_APPSECRET, JWT_SECRET, SMTP_PASSWORD and the store password (REDIS_TOKEN)."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from quart import Quart

from admin import create_admin_app
from admin.views import SECTIONS
from chatgate.runtime import seed_runtime_config
from core.accounts.registration import create_admin, register_user
from core.moderation.log import log_block
from core.moderation.verdicts import Verdict
from core.services import build_services
from core.settings import Settings
from core.store.connection import Store
from tests.admin.conftest import PASSWORD, Dash, sign_in
from tests.admin.test_access import admin_routes

SECRETS = {
    "OPENAI_API_KEY": "sk-openai-secret-0123456789abcdef",
    "XUNHU_PAY_APPSECRET": "xunhu-app-secret-6D7B025B8DD098C4",
    "SMTP_PASSWORD": "smtp-password-never-shown-42",
    "REDIS_TOKEN": "redis-token-should-stay-home-77",
}


@pytest.fixture
async def secret_app(settings: Settings, store: Store) -> AsyncIterator[Quart]:
    configured = settings.model_copy(update={name: SecretStr(value) for name, value in SECRETS.items()} | {
        "OPENAI_MODELS": ["gpt-4o-mini"], "XUNHU_PAY_APPID": "201906120000", "SMTP_HOST": "127.0.0.1",
        "REDIS_URL": f"{settings.REDIS_URL}?password={SECRETS['REDIS_TOKEN']}"})  # fmt: skip
    services = await build_services(configured, store)
    await seed_runtime_config(services)
    await create_admin(store, configured, email="root@example.com", password=PASSWORD, now=time.time())
    await register_user(store, configured, None, email="someone@example.com", password=PASSWORD, now=time.time())
    await log_block(store, user_id="2", direction="output", verdict=Verdict("block", "keywords", "keyword", ("x",)),
                    text="x marks", now=time.time(), channel="web")  # fmt: skip
    app = create_admin_app(services)
    async with app.test_app():
        yield app
    await services.close()


async def test_no_response_contains_a_secret(secret_app: Quart, settings: Settings) -> None:
    secrets = [*SECRETS.values(), settings.JWT_SECRET.get_secret_value()]
    client = secret_app.test_client()
    dash = Dash(client, await sign_in(client))
    bodies: list[str] = []
    # Changes made through the dashboard: their answers, and the audit log that records them.
    await dash.call("PUT", "/api/upstreams/default", {"name": "Seeded", "keys": ["sk-...cdef", "sk-added-key-555555"]})
    await dash.call("POST", "/api/plans", {"name": "pro", "title": "Pro", "prices": {"monthly": 100}, "limits": {}},
                    status=201)  # fmt: skip
    await dash.call("PUT", "/api/settings", {"title": "Secretless"})
    batch = await dash.call("POST", "/api/codes", {"plan": "pro", "days": 3, "count": 1}, status=201)
    bodies.append(str(batch))
    bodies.append(await (await secret_app.test_client().get("/login")).get_data(as_text=True))  # signed out
    pages = ["/", "/users/2", *(f"/{name}" for name, _ in SECTIONS)]
    gets = [path for method, path in admin_routes(secret_app) if method == "GET" and not re.search(r"sample|/7", path)]
    gets += ["/api/users/2", "/api/users/1", f"/api/codes?batch={batch['batch']['id']}", "/api/users?q=some"]
    for path in pages + gets:
        response = await client.get(path)
        assert response.status_code == 200, path
        bodies.append(await response.get_data(as_text=True) + str(response.headers))
    assert len(bodies) > 25
    everything = "\n".join(bodies)
    for secret in secrets:
        assert secret not in everything
    assert "sk-added-key-555555" not in everything  # a key typed in is masked from then on
    assert "sk-...5555" in everything and "OPENAI_API_KEY" in everything  # the settings page names what is set
