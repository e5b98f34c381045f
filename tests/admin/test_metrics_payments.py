"""Payments in the metrics: each order counted once when credited, with its fen, whether its notify came (however
often) or reconciliation found it paid; refused callbacks count nothing. Read through `GET /metrics`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from quart import Quart

from core.billing.plans import Limit, Plan, ensure_free_plan, save_plan
from core.services import Services
from core.settings import Settings
from core.store.connection import Store
from tests.admin.conftest import Dash
from tests.fakes.xunhupay import XunhuPayFake
from tests.metrics_support import labelled, scrape
from tests.webui.conftest import AuthActions
from webui import create_app

NOTIFY = "/api/pay/xunhu/notify"


@pytest.fixture
async def gateway() -> AsyncIterator[XunhuPayFake]:
    async with XunhuPayFake() as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, gateway: XunhuPayFake) -> Settings:
    return settings.model_copy(update=gateway.settings_update())


@pytest.fixture
async def web_app(services: Services, store: Store) -> AsyncIterator[Quart]:
    await ensure_free_plan(store, ["gpt-4o-mini"])
    await save_plan(store, Plan("pro", "Pro", {"monthly": 2900, "yearly": 29900}, {"gpt-4o-mini": Limit(50, "3h")}))
    app = create_app(services)
    async with app.test_app():
        yield app


async def open_order(auth: AuthActions, cycle: str) -> str:
    response = await auth.client.post("/api/orders", json={"plan": "pro", "cycle": cycle}, headers=auth.headers)
    data: dict[str, Any] = await response.get_json()
    assert response.status_code == 201, data
    return str(data["order_id"])


async def test_credited_orders_are_counted_once_with_their_fen(
    web_app: Quart, services: Services, gateway: XunhuPayFake, dash: Dash
) -> None:
    auth = AuthActions(web_app.test_client())
    await auth.register("buyer@example.com")
    notified, found = await open_order(auth, "monthly"), await open_order(auth, "yearly")
    client = web_app.test_client()
    forged = {**gateway.notify_fields(notified), "hash": "f" * 32}
    assert (await client.post(NOTIFY, form=forged)).status_code == 400
    for _ in range(3):  # XunhuPay repeats its notify until it reads `success`
        answer = await client.post(NOTIFY, form=gateway.notify_fields(notified))
        assert await answer.get_data(as_text=True) == "success"
    await gateway.pay(found, notify=False)  # the notify is lost: the dashboard's reconcile asks the gateway
    reconciled = await dash.call("POST", "/api/orders/reconcile")
    assert reconciled["credited"] == [found]
    await dash.call("POST", "/api/orders/reconcile")  # nothing left to credit
    seen = await scrape(services)
    counted, fen = "chatgate_payments_credited_total", "chatgate_payments_credited_fen_total"
    assert seen[labelled(counted, provider="xunhupay", source="notify")] == 1
    assert seen[labelled(fen, provider="xunhupay", source="notify")] == 2900
    assert seen[labelled(counted, provider="xunhupay", source="query")] == 1
    assert seen[labelled(fen, provider="xunhupay", source="query")] == 29900
