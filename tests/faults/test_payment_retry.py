"""A payment notify whose crediting was done by the store but whose answer was lost (the store died right after):
XunhuPay delivers it again, and the order is credited once, with its follow-ups (revenue, plan holders) done once."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from core.billing.orders import find_order
from core.billing.payments import handle_notify, open_order
from core.billing.plans import Plan, ensure_free_plan, save_plan
from core.billing.subscriptions import list_subscriptions
from core.days import day_stamp
from core.settings import Settings
from core.site.revenue import revenue_by_day
from core.store.connection import Store
from tests.chat_support import new_user
from tests.fakes.xunhupay import XunhuPayFake


@pytest.fixture
async def gateway() -> AsyncIterator[XunhuPayFake]:
    async with XunhuPayFake() as fake:
        yield fake


async def test_a_notify_delivered_again_after_a_lost_answer_credits_and_counts_once(
    store: Store, settings: Settings, gateway: XunhuPayFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    paying = settings.model_copy(update=gateway.settings_update())
    await ensure_free_plan(store, ["gpt-4o-mini"])
    await save_plan(store, Plan("pro", "Pro", {"monthly": 2900}, {}))
    user = await new_user(store, settings)
    async with httpx.AsyncClient() as http:
        order = await open_order(store, paying, http, user.id, "pro", "monthly", wap=False, lang="en", now=time.time())
    fields = gateway.notify_fields(order.id)
    run = store.scripts.run

    async def credited_then_lost(name: str, keys: list[str], args: list[Any] | None = None) -> Any:
        result = await run(name, keys, args or [])
        if name == "credit_order":
            raise RedisConnectionError("Connection closed by server.")
        return result

    with monkeypatch.context() as patch:
        patch.setattr(store.scripts, "run", credited_then_lost)
        with pytest.raises(RedisConnectionError):  # the notify is answered 503: XunhuPay sends it again
            await handle_notify(store, paying, fields, ip="127.0.0.1", now=time.time())
    for _ in range(2):
        again = await handle_notify(store, paying, fields, ip="127.0.0.1", now=time.time())
        assert again.verdict == "already_credited" and again.ok
    paid = await find_order(store, order.id)
    assert paid is not None and paid.status == "paid" and paid.settled and paid.paid_at is not None
    (subscription,) = await list_subscriptions(store, user.id)
    assert subscription.order_id == order.id and subscription.ends_at - subscription.starts_at == 30 * 86_400
    day = day_stamp(paid.paid_at)
    date = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    assert await revenue_by_day(store, [date]) == {date: (2900, 1)}  # counted once although credited "again"
    assert await store.redis.zscore(store.keys.plan_users("pro"), str(user.id)) == subscription.ends_at
