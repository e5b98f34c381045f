"""A caller who hangs up after the answer was opened but before its first byte was sent: nothing is left open.

Driven through the app's ASGI interface, as Hypercorn drives it: the response start is never acknowledged (the
socket is gone) and the server reports `http.disconnect`; Quart then cancels the request. The upstream must be
closed within a second and the call settled (counted in usage), not left to the garbage collector.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from quart import Quart

from core.store.connection import Store
from tests.chat_support import MODEL, eventually, usage_totals
from tests.fakes.openai_upstream import Behaviour, FakeUpstream
from tests.webui.conftest import AuthActions, MakeApp
from tests.webui.v1_support import make_caller


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        upstream.behaviour = Behaviour(chunks=100, chunk_delay=0.05)
        yield upstream


async def hang_up_at_response_start(app: Quart, path: str, body: dict[str, Any], headers: dict[str, str]) -> list[str]:
    """Send one request; hang up while the response start is being sent. Return the ASGI messages sent."""
    raw = orjson.dumps(body)
    incoming: list[dict[str, Any]] = [{"type": "http.request", "body": raw, "more_body": False}]
    started = asyncio.Event()
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await started.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])
        if message["type"] == "http.response.start":
            started.set()
            await asyncio.Event().wait()  # the socket is gone: this write never completes

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [
            (b"host", b"localhost"), (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
            *[(name.lower().encode(), value.encode()) for name, value in headers.items()],
        ],
        "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 80), "extensions": {},
    }  # fmt: skip
    await asyncio.wait_for(app(scope, receive, send), 5)  # type: ignore[arg-type]
    return sent


async def keyed_user(make_app: MakeApp, store: Store, fake: FakeUpstream) -> tuple[Quart, AuthActions, str]:
    caller = await make_caller(make_app, store, fake)
    return caller.app, caller.auth, caller.key


@pytest.mark.parametrize("repeat", [1, 2])  # the first call of a key takes the ordinary path, the next the fast one
async def test_v1_upstream_is_closed_and_the_call_settled(
    make_app: MakeApp, store: Store, fake: FakeUpstream, repeat: int
) -> None:
    app, auth, key = await keyed_user(make_app, store, fake)
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Hello"}], "stream": True}
    for attempt in range(repeat):
        fake.disconnected.clear()
        sent = await hang_up_at_response_start(app, "/v1/chat/completions", body, {"Authorization": f"Bearer {key}"})
        assert sent == ["http.response.start"]  # the handler returned a stream; no byte of it went out
        await asyncio.wait_for(fake.disconnected.wait(), 1.0)
        assert await eventually(lambda count=attempt + 1: settled(store, auth.user["id"], count))
    assert fake.completed == 0


async def test_web_chat_upstream_is_closed_and_the_call_settled(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    app, auth, _ = await keyed_user(make_app, store, fake)
    sent = await hang_up_at_response_start(app, "/api/chat", {"model": MODEL, "content": "Hello"}, auth.bearer)
    assert sent == ["http.response.start"]
    await asyncio.wait_for(fake.disconnected.wait(), 1.0)
    assert await eventually(lambda: settled(store, auth.user["id"], 1))


async def settled(store: Store, user_id: int, count: int) -> bool:
    """Tell whether `count` calls were counted in today's usage, charged for no completion (nothing delivered)."""
    requests, _, completion = await usage_totals(store, user_id, time.time())
    return requests == count and completion == 0
