"""The store is killed (SIGKILL) and started again on the same files while customers register, buy, redeem and chat.

Every answer the app gave is checked against what the store holds afterwards: an acknowledged account signs in, a
paid order is paid once, paid time is exact to the second, every finished chat is in its conversation and counted
once in the usage. Meanwhile a request fails with a clear 503 (never a 500) and the app reconnects by itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from quart import Quart, Response

from core.billing.plans import Limit, Plan, ensure_free_plan, save_plan
from core.billing.redemption import generate_codes
from core.billing.subscriptions import list_subscriptions
from core.days import day_stamp
from core.site.revenue import revenue_by_day
from core.store.connection import Store
from core.store.embedded import EmbeddedStore
from tests.chat_support import MODEL, add_model, usage_totals, window_count
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, text_of
from tests.fakes.xunhupay import XunhuPayFake
from tests.faults.conftest import MakeOwnApp, kill_store
from tests.webui.conftest import DEFAULT_PASSWORD, AuthActions

CUSTOMERS = 12
CHATS = 3
DAY = 86_400
CODE_DAYS = 7
STEPS = 5 + CHATS  # register, sign in, order, pay, redeem, chats


@dataclass
class Customer:
    """One customer's acknowledged actions (what the app answered with success)."""

    number: int
    email: str
    auth: AuthActions
    user_id: int = 0
    order_id: str = ""
    paid: bool = False
    redeemed: bool = False
    chats: list[tuple[str, str, str]] = field(default_factory=list)  # (conversation id, question, answer)


@dataclass
class Load:
    app: Quart
    gateway: XunhuPayFake
    codes: list[str]
    steps: int = 0  # steps done by every customer together
    marks: dict[int, asyncio.Event] = field(default_factory=dict)  # set when `steps` reaches the key (the killer)
    outages: int = 0  # 503 answers seen

    async def retried(self, call: Callable[[], Awaitable[Response]]) -> Response:
        """Send a request until the answer is not a 503 (which must be a clear store_unavailable)."""
        deadline = time.monotonic() + 15
        while True:
            response = await call()
            assert response.status_code != 500, await response.get_data(as_text=True)
            if response.status_code != 503:
                return response
            body = await response.get_json()
            assert body["error"]["code"] == "store_unavailable" and response.headers["Retry-After"], body
            self.outages += 1
            assert time.monotonic() < deadline, "the app did not come back after the store restarted"
            await asyncio.sleep(0.05)

    async def run(self, customer: Customer) -> None:
        for step in (self.sign_up, self.sign_in, self.order, self.pay, self.redeem):
            await step(customer)
            self.step_done()
        for turn in range(CHATS):
            await self.chat(customer, f"question {customer.number}-{turn}")
            self.step_done()

    def step_done(self) -> None:
        self.steps += 1
        if self.steps in self.marks:
            self.marks[self.steps].set()

    async def sign_up(self, customer: Customer) -> None:
        body = {"email": customer.email, "password": DEFAULT_PASSWORD}
        response = await self.retried(lambda: customer.auth.client.post("/api/auth/register", json=body))
        # 409: an earlier attempt was done by the store but its answer was lost with the store (a 503)
        assert response.status_code in (201, 409), await response.get_data(as_text=True)

    async def sign_in(self, customer: Customer) -> None:
        body = {"email": customer.email, "password": DEFAULT_PASSWORD}
        response = await self.retried(lambda: customer.auth.client.post("/api/auth/login", json=body))
        assert response.status_code == 200, await response.get_data(as_text=True)
        customer.user_id = int((await response.get_json())["user"]["id"])
        me = await self.retried(lambda: customer.auth.client.get("/api/me"))
        customer.auth.csrf_token = (await me.get_json())["csrf_token"]

    async def order(self, customer: Customer) -> None:
        auth = customer.auth
        body = {"plan": "pro", "cycle": "monthly"}
        response = await self.retried(lambda: auth.client.post("/api/orders", json=body, headers=auth.headers))
        assert response.status_code == 201, await response.get_data(as_text=True)
        customer.order_id = (await response.get_json())["order_id"]

    async def pay(self, customer: Customer) -> None:
        fields = self.gateway.notify_fields(customer.order_id)
        client = self.app.test_client()
        response = await self.retried(lambda: client.post("/api/pay/xunhu/notify", form=fields))
        assert (response.status_code, await response.get_data(as_text=True)) == (200, "success")
        customer.paid = True

    async def redeem(self, customer: Customer) -> None:
        auth, code = customer.auth, self.codes[customer.number]
        body = {"code": code}
        response = await self.retried(lambda: auth.client.post("/api/redeem", json=body, headers=auth.headers))
        if response.status_code == 400:  # an earlier attempt was done but its answer was lost: it is listed
            listed = await self.retried(lambda: auth.client.get("/api/redemptions"))
            assert len((await listed.get_json())["redemptions"]) == 1
        else:
            assert response.status_code == 200, await response.get_data(as_text=True)
        customer.redeemed = True

    async def chat(self, customer: Customer, question: str) -> None:
        auth = customer.auth
        while True:
            response = await self.retried(
                lambda: auth.client.post("/api/chat", json={"model": MODEL, "content": question}, headers=auth.headers)
            )
            assert response.status_code == 200, await response.get_data(as_text=True)
            events = [orjson.loads(block[6:]) for block in (await response.get_data()).split(b"\n\n") if block]
            if events[-1]["type"] == "done":
                text = "".join(event["content"] for event in events if event["type"] == "delta")
                customer.chats.append((events[0]["conversation_id"], question, text))
                return
            assert events[-1]["type"] == "error", events  # the store went away during the answer: not finished
            await asyncio.sleep(0.05)


async def _set_up(store: Store, now: float) -> list[str]:
    await ensure_free_plan(store, [MODEL])
    await save_plan(store, Plan("free", "Free", {}, {MODEL: Limit(100, "3h")}))
    await save_plan(store, Plan("pro", "Pro", {"monthly": 2900}, {MODEL: Limit(100, "3h")}))
    batch = await generate_codes(store, plan="pro", days=CODE_DAYS, count=CUSTOMERS, now=now)
    return list(batch.codes)


async def _kill_twice(load: Load, store: EmbeddedStore) -> int:
    """SIGKILL the store after a third and after two thirds of the work, start it again after a short outage."""
    kills = 0
    for third in (1, 2):
        mark = load.marks.setdefault(CUSTOMERS * STEPS * third // 3, asyncio.Event())
        await mark.wait()
        await kill_store(store)
        await asyncio.sleep(0.3)  # requests meanwhile: 503
        await asyncio.to_thread(store.start)
        kills += 1
    return kills


@pytest.fixture
async def gateway() -> Any:
    async with XunhuPayFake() as fake:
        yield fake


async def test_nothing_acknowledged_is_lost_when_the_store_is_killed_under_load(
    own_store: EmbeddedStore, own_client: Store, make_own_app: MakeOwnApp, gateway: XunhuPayFake
) -> None:
    started = time.time()
    codes = await _set_up(own_client, started)
    async with FakeUpstream(behaviour=Behaviour(chunks=8, chunk_delay=0.01)) as upstream:
        await add_model(own_client, [upstream])
        app = await make_own_app(REGISTER_MAX_PER_IP=1000, REGISTER_MAX_PER_SUBNET=1000, **gateway.settings_update())
        load = Load(app, gateway, codes)
        customers = [Customer(n, f"c{n}@example.com", AuthActions(app.test_client())) for n in range(CUSTOMERS)]
        kills, *_ = await asyncio.gather(_kill_twice(load, own_store), *(load.run(c) for c in customers))
    assert kills == 2 and load.outages > 0  # the faults happened while requests were in flight
    await _check_kept(app, own_client, customers)
    days = sorted({_iso_day(started), _iso_day(time.time())})
    revenue = await revenue_by_day(own_client, days)
    assert tuple(map(sum, zip(*revenue.values(), strict=True))) == (CUSTOMERS * 2900, CUSTOMERS)  # each order once


def _iso_day(now: float) -> str:
    stamp = day_stamp(now)
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:]}"


async def _check_kept(app: Quart, store: Store, customers: list[Customer]) -> None:
    now = time.time()
    for customer in customers:
        fresh = AuthActions(app.test_client())
        await fresh.login(customer.email)  # the account signs in with its password
        assert customer.paid and customer.redeemed and len(customer.chats) == CHATS
        paid = await fresh.client.get(f"/api/orders/{customer.order_id}")
        assert (await paid.get_json())["status"] == "paid"
        subscriptions = [sub for sub in await list_subscriptions(store, customer.user_id) if sub.plan == "pro"]
        from_order = [sub for sub in subscriptions if sub.order_id == customer.order_id]
        assert len(from_order) == 1 and from_order[0].ends_at - from_order[0].starts_at == 30 * DAY  # credited once
        assert sum(sub.ends_at - sub.starts_at for sub in subscriptions) == (30 + CODE_DAYS) * DAY  # exact paid time
        for conversation_id, question, answer in customer.chats:
            assert answer == text_of(8)
            saved = await fresh.client.get(f"/api/conversations/{conversation_id}")
            messages = [(m["role"], m["content"]) for m in (await saved.get_json())["messages"]]
            assert messages == [("user", question), ("assistant", answer)], messages
        requests, _, completion = await usage_totals(store, customer.user_id, now)
        assert (requests, completion) == (CHATS, CHATS * 8), customer.email  # each finished chat counted once
        # a chat refused with a 503 took no message of the window (its consume was given back, or never happened)
        assert await window_count(store, customer.user_id) == CHATS, customer.email
