"""The services container: built once from settings + store by `build_services`, handed to every adapter.

No module-level singletons: adapters receive this object (Quart app extension, aiogram workflow data).
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from core.metrics import Metrics
from core.moderation import Moderation, build_moderation
from core.notify import Notifier
from core.relay.engine import Relay, build_relay
from core.settings import Settings
from core.store.connection import Store

Clock = Callable[[], float]


@dataclass
class Services:
    settings: Settings
    store: Store
    http: httpx.AsyncClient
    jwt_secret: str
    moderation: Moderation
    notifier: Notifier
    relay: Relay
    metrics: Metrics
    clock: Clock = field(default=time.time)

    async def close(self) -> None:
        await self.relay.close()
        await self.http.aclose()
        await self.store.close()


async def ensure_jwt_secret(settings: Settings, store: Store) -> str:
    """Return JWT_SECRET, or the generated secret kept in the store (created once, shared by every process)."""
    configured = settings.JWT_SECRET.get_secret_value()
    if configured:
        return configured
    key = store.keys.jwt_secret()
    await store.redis.set(key, secrets.token_urlsafe(48), nx=True)
    stored = await store.redis.get(key)
    assert stored, "the JWT secret was just written"
    return str(stored)


async def build_services(settings: Settings, store: Store, clock: Clock = time.time) -> Services:
    """Wire every core service from settings and an open store."""
    problem = settings.jwt_secret_problem() or settings.console_delivery_problem()
    if problem and not settings.is_dev:
        raise ValueError(problem)
    http = httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0), follow_redirects=False)
    jwt_secret = await ensure_jwt_secret(settings, store)
    metrics = Metrics(instance=f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}")
    moderation = build_moderation(settings, store, http, clock)
    moderation.metrics = metrics
    notifier = Notifier(settings, http, clock)
    return Services(
        settings=settings,
        store=store,
        http=http,
        jwt_secret=jwt_secret,
        moderation=moderation,
        notifier=notifier,
        relay=build_relay(settings, store, clock, metrics),
        metrics=metrics,
        clock=clock,
    )
