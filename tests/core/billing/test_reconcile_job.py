"""The reconciliation job as `chatgate serve` runs it: in one process at a time (a store lease), crediting an order
whose notify never came."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from chatgate.jobs import background_jobs
from core.accounts.registration import register_user
from core.billing.orders import find_order
from core.billing.payments import open_order
from core.billing.plans import Plan, ensure_free_plan, save_plan
from core.billing.reconcile import LEASE_NAME, reconciliation_job
from core.billing.subscriptions import list_subscriptions
from core.services import build_services
from core.settings import Settings
from core.store.connection import Store, connect
from tests.fakes.xunhupay import XunhuPayFake


@pytest.fixture
async def gateway() -> AsyncIterator[XunhuPayFake]:
    async with XunhuPayFake() as fake:
        yield fake


async def test_two_competing_runners_credit_a_lost_notify_once(
    store: Store, store_url: str, settings: Settings, gateway: XunhuPayFake
) -> None:
    fast = settings.model_copy(update={**gateway.settings_update(), "ORDER_RECONCILE_AFTER_SECONDS": 0,
                                       "ORDER_RECONCILE_INTERVAL_SECONDS": 0.05})  # fmt: skip
    await ensure_free_plan(store, ["gpt-4o-mini"])
    await save_plan(store, Plan("pro", "Pro", {"monthly": 2900}, {}))
    user = await register_user(store, fast, None, email="payer@example.com", password="pw12345678", now=0)
    other = connect(store_url)
    async with httpx.AsyncClient() as http:
        order = await open_order(store, fast, http, user.id, "pro", "monthly", wap=False, lang="en", now=time.time())
        await gateway.pay(order.id, notify=False)
        jobs = [reconciliation_job(handle, fast, http, time.time) for handle in (store, other)]
        runners = [asyncio.ensure_future(job) for job in jobs]
        try:
            for _ in range(100):
                found = await find_order(store, order.id)
                if found is not None and found.status == "paid":
                    break
                await asyncio.sleep(0.05)
            assert await store.redis.exists(store.keys.lock(LEASE_NAME))  # held by one of them
        finally:
            for runner in runners:
                runner.cancel()
            await asyncio.gather(*runners, return_exceptions=True)
            await other.close()
    assert found is not None and (found.status, found.settled) == ("paid", True)
    assert len(await list_subscriptions(store, user.id)) == 1


async def test_serve_runs_the_reconciliation_job(store: Store, settings: Settings) -> None:
    services = await build_services(settings, store)
    try:
        assert [job.__name__ for job in background_jobs(services)] == ["reconcile_orders"]
    finally:
        await services.http.aclose()
        await services.relay.close()
