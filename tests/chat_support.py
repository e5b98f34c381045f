"""Shared setup for the chat-path tests: models pointing at loopback fake upstreams, plans, users, counters."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart

from chatgate.coalesced_writes import install_coalesced_writes
from chatgate.http_status import install_reason_phrases
from chatgate.response_headers import install_response_headers
from core.accounts.registration import register_user
from core.accounts.users import User
from core.billing.plans import Limit, Plan, save_plan
from core.billing.usage import user_usage
from core.relay.catalogue import Model, Upstream, save_model
from core.settings import Settings
from core.store.connection import Store
from tests.fakes.openai_upstream import FakeUpstream

MODEL = "gpt-4o-mini"
PASSWORD = "correct horse battery"
CHEAP_HASHING = {"PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 1024}  # test speed, not strength


def upstream_of(fake: FakeUpstream, upstream_id: str, priority: int = 0) -> Upstream:
    return Upstream(id=upstream_id, base_url=fake.base_url, keys=["sk-test"], priority=priority)


async def add_model(
    store: Store, fakes: list[FakeUpstream], model_id: str = MODEL, context_window: int = 128_000
) -> Model:
    """Store a model served by `fakes`, the first one preferred (higher priority), the rest as fallbacks."""
    upstreams = [upstream_of(fake, f"up{index}", priority=10 - index) for index, fake in enumerate(fakes)]
    model = Model(id=model_id, name=model_id, context_window=context_window, upstreams=upstreams)
    await save_model(store, model)
    return model


async def set_plan(
    store: Store,
    limits: dict[str, tuple[int, str]],
    name: str = "free",
    daily_tokens: int | None = None,
) -> Plan:
    plan = Plan(
        name=name,
        title=name.title(),
        prices={} if name == "free" else {"monthly": 2900},
        limits={model: Limit(limit, window) for model, (limit, window) in limits.items()},
        daily_tokens=daily_tokens,
    )
    return await save_plan(store, plan)


async def new_user(
    store: Store, settings: Settings, email: str = "alice@example.com", invite_code: str | None = None
) -> User:
    cheap = settings.model_copy(update=CHEAP_HASHING)
    return await register_user(
        store, cheap, None, email=email, password=PASSWORD, invite_code=invite_code, now=time.time()
    )


async def window_count(store: Store, user_id: int, model: str = MODEL) -> int:
    return int(await store.redis.zcard(store.keys.quota_window(user_id, model)))


async def usage_totals(store: Store, user_id: int, now: float, model: str = MODEL) -> tuple[int, int, int]:
    """Return today's (requests, prompt_tokens, completion_tokens) of a user for a model."""
    rows = [row for row in await user_usage(store, user_id, 1, now) if row.model == model]
    if not rows:
        return (0, 0, 0)
    return (rows[0].requests, rows[0].prompt_tokens, rows[0].completion_tokens)


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 2.0) -> bool:
    """Poll `check` until it is true or `seconds` pass (for writes that finish after the response)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        if await check():
            return True
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.02)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def serve_app(app: Quart, **settings: Any) -> AsyncIterator[str]:
    """Serve `app` with Hypercorn on a loopback port (its startup/shutdown run as in production); yield its URL.
    `settings`: Hypercorn Config attributes to set (e.g. keep_alive_timeout)."""
    install_reason_phrases()  # as `chatgate serve` does
    install_coalesced_writes()
    install_response_headers()
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.graceful_timeout = 1.0
    for name, value in settings.items():
        setattr(config, name, value)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    try:
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            await writer.wait_closed()
            break
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await task
