"""Request ids that follow a chat to the upstream, metrics summed over processes, health endpoints, quiet logs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from quart import Quart

from admin import create_admin_app
from core.metrics import Metrics, render
from core.services import Services, build_services
from core.settings import Settings
from core.store.connection import Store
from tests.chat_support import MODEL, add_model, set_plan
from tests.fakes.openai_upstream import FakeUpstream
from tests.webui.conftest import AuthActions, MakeApp
from tests.webui.v1_support import make_caller


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        yield upstream


async def test_every_response_carries_a_request_id_and_the_upstream_sees_it(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    caller = await make_caller(make_app, store, fake)
    client = caller.client
    for path in ("/login", "/api/me", "/no-such-page", "/v1/nothing", "/healthz"):
        response = await client.get(path)
        assert response.headers["x-request-id"].startswith("req_"), path
    offered = {"X-Request-Id": "trace-42", **caller.headers}
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}
    answered = await client.post("/v1/chat/completions", json=body, headers=offered)
    assert answered.status_code == 200 and answered.headers["x-request-id"] == "trace-42"
    sent = {name.lower(): value for name, value in fake.chat_requests[-1].headers.items()}
    assert sent["x-request-id"] == "trace-42"
    odd = await client.get("/healthz", headers={"X-Request-Id": "x" * 200})
    assert odd.headers["x-request-id"] != "x" * 200  # not a sane token: a fresh one


async def test_metrics_of_two_processes_add_up(store: Store) -> None:
    first, second = Metrics(instance="a"), Metrics(instance="b")
    for metrics, count in ((first, 2), (second, 3)):
        for _ in range(count):
            metrics.inc("chatgate_http_requests_total", app="webui", route="/x", method="GET", status=200)
            metrics.observe("chatgate_http_request_duration_seconds", 0.02, app="webui", route="/x", method="GET")
        metrics.add("chatgate_active_streams", count)
        await metrics.flush(store)
    first.inc("chatgate_http_requests_total", app="webui", route="/x", method="GET", status=200)
    await first.flush(store)  # counts are added, never overwritten
    text = await render(store)
    assert 'chatgate_http_requests_total{app="webui",method="GET",route="/x",status="200"} 6' in text
    assert 'chatgate_http_request_duration_seconds_bucket{app="webui",le="0.025",method="GET",route="/x"} 5' in text
    assert 'chatgate_http_request_duration_seconds_bucket{app="webui",le="0.01",method="GET",route="/x"}' not in text
    assert "chatgate_http_request_duration_seconds_count" in text and "chatgate_active_streams 5" in text
    assert "# TYPE chatgate_upstream_failovers_total counter" in text


@pytest.fixture
async def services(settings: Settings, store: Store) -> AsyncIterator[Services]:
    built = await build_services(settings, store)
    yield built
    await built.close()


async def test_the_dashboard_serves_metrics_and_health(services: Services, store: Store) -> None:
    app: Quart = create_admin_app(services)
    async with app.test_app():
        client = app.test_client()
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
        response = await client.get("/metrics")
        assert response.status_code == 200 and response.content_type.startswith("text/plain")
        text = await response.get_data(as_text=True)
        assert 'route="/healthz"' in text and "# TYPE chatgate_http_requests_total counter" in text


async def test_readyz_says_when_the_store_is_away(make_app: MakeApp, store: Store) -> None:
    app = await make_app()
    client = app.test_client()
    assert (await client.get("/readyz")).status_code == 200
    services: Services = app.extensions["services"]
    await services.store.close()
    services.store.redis = type(services.store.redis).from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    away = await client.get("/readyz")
    assert away.status_code == 503 and (await away.get_json())["error"]["code"] == "store_unavailable"


async def test_a_chat_and_its_failover_leave_no_secret_in_the_logs(
    make_app: MakeApp, store: Store, fake: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    secret_key = "sk-upstream-secret-value-0123456789"
    caplog.set_level(logging.DEBUG)
    app = await make_app(OPENAI_API_KEY=secret_key)
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (5, "1h")})
    auth = AuthActions(app.test_client())
    await auth.register("logs@example.com", password="a password that is secret")
    await auth.client.post("/api/chat", json={"model": MODEL, "content": "Hi"}, headers=auth.headers)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (secret_key, "a password that is secret", auth.token, settings_jwt(app)):
        assert secret not in logged


def settings_jwt(app: Quart) -> str:
    return str(app.extensions["services"].jwt_secret)
