"""Opening the store and serving the apps: the process-level wiring shared by every CLI command."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from hypercorn.asyncio import serve
from hypercorn.config import Config

from core.embedded import EmbeddedStore
from core.services import Services, build_services
from core.settings import Settings
from core.store import Store, connect

log = logging.getLogger("chatgate")


@dataclass
class StoreHandle:
    store: Store
    description: str
    embedded: EmbeddedStore | None = None


@contextlib.asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[StoreHandle]:
    """Yield the store: REDIS_URL, else the embedded server of DATA_DIR (started for the duration if not running)."""
    token = settings.REDIS_TOKEN.get_secret_value()
    if settings.REDIS_URL:
        store = connect(settings.REDIS_URL, token, settings.REDIS_KEY_PREFIX)
        yield StoreHandle(store, f"external store {_redact(settings.REDIS_URL)}")
        await store.close()
        return
    embedded = EmbeddedStore(settings.DATA_DIR, settings.EMBEDDED_STORE_BINARY)
    url = embedded.running_url()
    started = url is None
    if url is None:
        url = await asyncio.to_thread(embedded.start)
    store = connect(url, "", settings.REDIS_KEY_PREFIX)
    where = f"embedded store in {embedded.store_dir} ({'started' if started else 'already running'})"
    try:
        yield StoreHandle(store, where, embedded if started else None)
    finally:
        await store.close()
        if started:
            await asyncio.to_thread(embedded.stop)


def _redact(url: str) -> str:
    """Hide a password in a store URL before it is printed."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


async def seed_runtime_config(services: Services) -> None:
    """Seed models/upstreams and the free plan on first start (later starts keep what the admin changed)."""
    from core.models import list_models, seed_models
    from core.plans import ensure_free_plan

    await seed_models(services.store, services.settings)
    models = await list_models(services.store)
    await ensure_free_plan(services.store, [model.id for model in models])


def event_loop_factory(settings: Settings) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """Return the loop factory for `chatgate serve`: uvloop (libuv) where installed, unless EVENT_LOOP says asyncio.

    uvloop runs the same asyncio code with its I/O and scheduling in C: on the /v1 stream relay it takes a large
    share of the per-chunk event-loop cost off the relay's CPU (benchmarks/README.md).
    """
    if settings.EVENT_LOOP == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if settings.EVENT_LOOP == "uvloop":
            raise ValueError("EVENT_LOOP=uvloop, but uvloop is not installed (pip install uvloop).") from None
        return None
    return uvloop.new_event_loop


def _settle_heap() -> None:
    """Keep the garbage collector off the request path once everything is imported and built.

    The libraries leave ~100k long-lived objects that every full collection would walk again (~50 ms each);
    frozen, they are skipped. A request allocates thousands of short-lived objects, so young collections run
    less often too (measured: GC time per /v1 request from ~0.09 ms to ~0.01 ms).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(7_000, 20, 20)


def _hypercorn_config(host: str, port: int) -> Config:
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None  # no per-request log line on the hot path
    config.errorlog = "-"
    config.backlog = 2048  # a burst of clients opening streams at once is queued, not refused (default 100)
    config.graceful_timeout = 5.0
    config.keep_alive_timeout = 75.0
    return config


async def serve_all(settings: Settings, host: str, port: int, admin_port: int, only: str | None = None) -> None:
    """Run the web app and the admin app (or `only` one of them) in this event loop until SIGINT/SIGTERM."""
    from admin import create_admin_app
    from webui import create_app

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with open_store(settings) as handle:
        services = await build_services(settings, handle.store)
        try:
            await seed_runtime_config(services)
            servers = []
            if only in (None, "web"):
                config = _hypercorn_config(host, port)
                servers.append(serve(create_app(services), config, shutdown_trigger=stop.wait))
                print(f"ChatGate web app   http://{host}:{port}", flush=True)
            if only in (None, "admin"):
                config = _hypercorn_config(settings.ADMIN_HOST, admin_port)
                admin = create_admin_app(services)
                servers.append(serve(admin, config, shutdown_trigger=stop.wait))
                print(f"ChatGate dashboard http://{settings.ADMIN_HOST}:{admin_port}", flush=True)
            print(f"Data: {handle.description}", flush=True)
            print(f"Event loop: {type(loop).__module__.split('.')[0]}", flush=True)
            _settle_heap()
            await asyncio.gather(*servers)
        finally:
            await services.close()
