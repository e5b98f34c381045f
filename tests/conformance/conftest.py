"""The /v1 conformance suite's set-up: ChatGate served by Hypercorn on a loopback port (as `chatgate serve` runs
it), in front of the loopback fake upstream (tests/fakes/openai_upstream.py) that records what it received; a user
with an API key; the official openai SDK (async, and sync run in a worker thread: the server shares the test's event
loop) and raw HTTP clients.

    async def test_x(gate: Gate) -> None:
        async with gate.aio() as client: ...                         # openai.AsyncOpenAI, no retries
        answer = await gate.sync(lambda c: c.chat.completions.create(...))   # openai.OpenAI in a thread
        status, headers, body = await gate.http("POST", "/v1/chat/completions", json={...})

Models: CHAT (text and images), SMALL (a 300-token window), EMBED (embeddings), MODERATE (moderations), all in the
free plan (LIMIT messages per 3 h each); OUTSIDE is a chat model the plan does not include.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import openai
import pytest

from core.accounts.api_keys import create_api_key
from core.accounts.users import User
from core.billing.plans import Limit, Plan, save_plan
from core.chat.token_count import count_tokens
from core.relay.catalogue import Model, Upstream, save_model
from core.services import Services, build_services
from core.settings import Settings
from core.store.connection import Store
from tests.chat_support import CHEAP_HASHING, new_user, serve_app
from tests.fakes.openai_upstream import FakeUpstream
from webui import create_app

CHAT, SMALL, EMBED, MODERATE, OUTSIDE = (
    "gpt-4o-mini",
    "small-chat",
    "text-embedding-3-small",
    "omni-moderation-latest",
    "gpt-4o",
)
LIMIT = 20
HELLO: list[Any] = [{"role": "user", "content": "Hello"}]
T = TypeVar("T")


@dataclass
class Gate:
    url: str
    key: str
    user: User
    services: Services
    store: Store
    fake: FakeUpstream
    hits: Counter[str] = field(default_factory=Counter)  # requests ChatGate received, by path

    @contextlib.asynccontextmanager
    async def aio(self, **options: Any) -> AsyncIterator[openai.AsyncOpenAI]:
        client = openai.AsyncOpenAI(base_url=f"{self.url}/v1", api_key=self.key, **{"max_retries": 0, **options})
        try:
            yield client
        finally:
            await client.close()

    async def sync(self, call: Callable[[openai.OpenAI], T], **options: Any) -> T:
        """Run `call` with the sync SDK client in a thread (the server runs on this test's event loop)."""

        def run() -> T:
            with openai.OpenAI(base_url=f"{self.url}/v1", api_key=self.key, **{"max_retries": 0, **options}) as client:
                return call(client)

        return await asyncio.to_thread(run)

    async def http(
        self, method: str, path: str, *, json: Any = None, data: Any = None,
        headers: dict[str, str] | None = None, key: bool = True,
    ) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
        """One raw HTTP request; return its status, headers (lower-case names) and body."""
        sent = {"Authorization": f"Bearer {self.key}"} if key else {}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method, self.url + path, json=json, data=data, headers={**sent, **(headers or {})}
            ) as response,
        ):
            body = await response.read()
            return response.status, {name.lower(): value for name, value in response.headers.items()}, body

    async def window(self, model: str = CHAT) -> int:
        """The messages in the user's window for a model."""
        return int(await self.store.redis.zcard(self.store.keys.quota_window(self.user.id, model)))


def upstream(fake: FakeUpstream) -> Upstream:
    return Upstream(id="fake", base_url=fake.base_url, keys=["sk-test"])


async def add_models(store: Store, fake: FakeUpstream) -> None:
    up = upstream(fake)
    models = [
        Model(CHAT, "Mini", 128_000, [up], input_types=["text", "image"]),
        Model(SMALL, "Small", 300, [up]),
        Model(EMBED, "Embedding", 8_191, [up], serves=["embeddings"]),
        Model(MODERATE, "Moderation", 32_768, [up], serves=["moderations"]),
        Model(OUTSIDE, "Outside", 128_000, [up]),
    ]
    for model in models:
        await save_model(store, model)


async def set_limits(store: Store, limit: int = LIMIT, window: str = "3h", daily_tokens: int | None = None) -> None:
    limits = {model: Limit(limit, window) for model in (CHAT, SMALL, EMBED, MODERATE)}
    await save_plan(store, Plan("free", "Free", {}, limits, daily_tokens=daily_tokens))


OpenGate = Callable[..., Awaitable[Gate]]


@pytest.fixture
async def open_gate(settings: Settings, store: Store) -> AsyncIterator[OpenGate]:
    """Yield `await open_gate(**settings_overrides) -> Gate` (served until the test ends)."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(**overrides: Any) -> Gate:
            services = await build_services(settings.model_copy(update={**CHEAP_HASHING, **overrides}), store)
            stack.push_async_callback(services.close)
            fake = await stack.enter_async_context(FakeUpstream())
            await add_models(store, fake)
            await set_limits(store)
            user = await new_user(store, settings)
            _, key = await create_api_key(store, user.id, "conformance", time.time())
            app = create_app(services)
            gate = Gate("", key, user, services, store, fake)

            async def counted(scope: Any, receive: Any, send: Any) -> None:
                if scope["type"] == "http":
                    gate.hits[scope["path"]] += 1
                await app(scope, receive, send)

            gate.url = await stack.enter_async_context(serve_app(counted))  # type: ignore[arg-type]
            return gate

        count_tokens("warm up", CHAT)  # the first tokenizer load takes ~1 s of CPU
        yield start


@pytest.fixture
async def gate(open_gate: OpenGate) -> Gate:
    return await open_gate()
