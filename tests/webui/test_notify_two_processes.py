"""One XunhuPay notify delivered 100 times at once, spread over two `chatgate serve` processes on one store:
exactly one credit, one extension, and every delivery answered `success` and logged with its verdict."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from core.accounts.registration import register_user
from core.billing.orders import find_order, order_callbacks
from core.billing.payments import open_order
from core.billing.plans import Plan, ensure_free_plan, save_plan
from core.billing.subscriptions import list_subscriptions
from core.settings import Settings
from core.store.connection import Store
from tests.conftest import CLUSTER, TEST_JWT_SECRET
from tests.fakes.xunhupay import XunhuPayFake

ROOT = Path(__file__).resolve().parents[2]
DELIVERIES = 100


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _servers(count: int, env: dict[str, str], cwd: Path) -> Iterator[list[str]]:
    ports = [_free_port() for _ in range(count)]
    command = [sys.executable, "-m", "chatgate", "serve", "--only", "web", "--port"]
    processes = [
        subprocess.Popen([*command, str(port)], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in ports
    ]
    try:
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(15)


async def _wait_ready(bases: list[str]) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=2) as client:
        for base in bases:
            while True:
                try:
                    if (await client.get(f"{base}/login")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"{base} did not start")
                await asyncio.sleep(0.1)


@pytest.fixture
async def gateway() -> AsyncIterator[XunhuPayFake]:
    async with XunhuPayFake() as fake:
        yield fake


async def test_100_concurrent_notifies_over_two_processes_credit_once(
    store: Store, store_url: str, settings: Settings, gateway: XunhuPayFake, tmp_path: Path
) -> None:
    paying = settings.model_copy(update=gateway.settings_update())
    await ensure_free_plan(store, ["gpt-4o-mini"])
    await save_plan(store, Plan("pro", "Pro", {"monthly": 2900}, {}))
    user = await register_user(store, paying, None, email="payer@example.com", password="pw12345678", now=0)
    async with httpx.AsyncClient() as http:
        order = await open_order(store, paying, http, user.id, "pro", "monthly", wap=False, lang="en", now=time.time())
    env = {key: value for key, value in os.environ.items() if not key.startswith(("REDIS_", "XUNHU_", "SMTP_"))}
    env.update(REDIS_URL=store_url, REDIS_CLUSTER=str(CLUSTER).lower(), CHATGATE_ENV="test",
               JWT_SECRET=TEST_JWT_SECRET, DATA_DIR=str(tmp_path / "data"),
               PYTHONPATH=str(ROOT), OPENAI_ENDPOINT="http://127.0.0.1:9", TEXT_SECURITY="",
               XUNHU_PAY_APPID=gateway.appid, XUNHU_PAY_APPSECRET=gateway.secret,
               XUNHU_PAY_GATEWAY=gateway.url)  # fmt: skip
    fields = gateway.notify_fields(order.id)
    with _servers(2, env, tmp_path) as bases:
        await _wait_ready(bases)
        limits = httpx.Limits(max_connections=DELIVERIES)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            answers = await asyncio.gather(*(
                client.post(f"{bases[index % 2]}/api/pay/xunhu/notify", data=fields) for index in range(DELIVERIES)
            ))  # fmt: skip
    assert [(answer.status_code, answer.text) for answer in answers] == [(200, "success")] * DELIVERIES
    (subscription,) = await list_subscriptions(store, user.id)
    assert (subscription.plan, subscription.order_id, subscription.ends_at - subscription.starts_at) == (
        "pro", order.id, 30 * 86_400)  # fmt: skip
    credited = await find_order(store, order.id)
    assert credited is not None and credited.status == "paid"
    verdicts = [entry["verdict"] for entry in await order_callbacks(store, credited)]
    assert len(verdicts) == DELIVERIES and verdicts.count("credited") == 1
    assert set(verdicts) == {"credited", "already_credited"}
