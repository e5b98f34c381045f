"""Opening the store and serving the apps: the process-level wiring shared by every CLI command."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import signal
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import unquote, urlsplit

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart

from channels import Channel, Runner, enabled_channels
from chatgate.coalesced_writes import install_coalesced_writes
from chatgate.http_status import install_reason_phrases
from chatgate.jobs import background_jobs
from chatgate.response_headers import install_response_headers
from core.services import Services, build_services
from core.settings import Settings
from core.store.connection import Store, connect
from core.store.embedded import EmbeddedStore

log = logging.getLogger("chatgate")


class StartupError(Exception):
    """The process cannot start (e.g. a port is taken): the CLI prints the message as one line and exits 2."""


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
        store = connect(settings.REDIS_URL, token, settings.REDIS_KEY_PREFIX, cluster=settings.REDIS_CLUSTER)
        kind = "external cluster" if settings.REDIS_CLUSTER else "external store"
        try:
            yield StoreHandle(store, f"{kind} {_redact(settings.REDIS_URL)}")
        finally:
            await store.close()
        return
    embedded = EmbeddedStore(settings.DATA_DIR, settings.EMBEDDED_STORE_BINARY, settings.EMBEDDED_STORE_FSYNC)
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


_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)[^&#]*")


def _redact(url: str) -> str:
    """Hide a password in a store URL (user info or a `password=` query argument) before it is printed."""
    url = _QUERY_PASSWORD.sub(r"\1***", url)
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    end = min((index for index in map(rest.find, "/?#") if index >= 0), default=len(rest))
    netloc, tail = rest[:end], rest[end:]
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    return f"{scheme}://{netloc}{tail}"


def describe_store(settings: Settings) -> str:
    """Name the store the commands use, with no secret in it."""
    if settings.REDIS_URL:
        return f"the store at {_redact(settings.REDIS_URL)}"
    return f"the embedded store in {EmbeddedStore(settings.DATA_DIR).store_dir}"


def scrub_secrets(text: str, settings: Settings) -> str:
    """Replace the store password (REDIS_TOKEN, or one inside REDIS_URL) wherever it appears in `text`."""
    secrets = [settings.REDIS_TOKEN.get_secret_value()]
    with contextlib.suppress(ValueError):
        parts = urlsplit(settings.REDIS_URL)
        found = [parts.password or "", *(m.group(1) for m in re.finditer(r"(?i)password=([^&#]*)", parts.query))]
        secrets += found + [unquote(secret) for secret in found]  # as typed and as the server received it
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


async def seed_runtime_config(services: Services) -> None:
    """Seed models/upstreams and the free plan on first start (later starts keep what the admin changed)."""
    from core.billing.plans import ensure_free_plan
    from core.relay.catalogue import list_models, seed_models
    from core.relay.registry import migrate_upstreams, stamp_model_times

    await seed_models(services.store, services.settings)
    await migrate_upstreams(services.store)  # models stored before the upstream registry name their upstreams by id
    await stamp_model_times(services.store, services.clock())  # models stored before they had a `created` time
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


def _hypercorn_config(bind: str) -> Config:
    install_reason_phrases()  # "HTTP/1.1 429 Too Many Requests": the status line has its reason phrase
    install_coalesced_writes()  # the pieces of a response made in one loop turn go out in one send()
    install_response_headers()  # each header checked once; the Date formatted once a second
    config = Config()
    config.bind = [bind]  # "host:port", or "fd://N" for a socket a supervisor opened (chatgate.workers)
    config.accesslog = None  # no per-request log line on the hot path
    config.errorlog = logging.getLogger("hypercorn.error")  # through our logging set-up: each line once
    config.backlog = 2048  # a burst of clients opening streams at once is queued, not refused (default 100)
    config.graceful_timeout = 5.0
    config.keep_alive_timeout = 75.0
    config.include_server_header = False  # no "server: hypercorn-h11": the software and version are nobody's business
    return config


def check_bindable(host: str, port: int) -> None:
    """Fail early and plainly (StartupError) when `host:port` cannot be listened on, e.g. the port is taken."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as hypercorn binds
            probe.bind(address)
    except OSError as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


async def _serve_app(app: Any, host: str, port: int, stop: asyncio.Event) -> None:
    try:
        await serve(app, _hypercorn_config(f"{host}:{port}"), shutdown_trigger=stop.wait)
    except OSError as exc:  # taken between check_bindable and now
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


async def _run_servers(servers: list[Coroutine[Any, Any, None]], stop: asyncio.Event) -> None:
    """Run the servers until `stop`; when one fails, shut the others down gracefully before raising."""
    tasks = [asyncio.ensure_future(server) for server in servers]
    try:
        await asyncio.gather(*tasks)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)


def build_web_app(services: Services, channels: list[Channel]) -> Quart:
    """Build the web app with the webhook routes of every enabled channel (the web app never imports channels)."""
    from webui import create_app

    app = create_app(services)
    for channel in channels:
        blueprint = channel.blueprint()
        if blueprint is not None:
            app.register_blueprint(blueprint)
    return app


METRICS_FLUSH_SECONDS = 5.0


async def flush_metrics_forever(services: Services) -> None:
    """Add this process's counts into the store every few seconds (core.metrics); runs until cancelled."""
    try:
        while True:
            await asyncio.sleep(METRICS_FLUSH_SECONDS)
            try:
                await services.metrics.flush(services.store)
            except Exception as exc:  # the store is away: the counts wait for the next flush
                log.warning("metrics flush failed: %s", type(exc).__name__)
    finally:
        with contextlib.suppress(Exception):
            await services.metrics.flush(services.store)


async def _run_until_stopped(runner: Runner, stop: asyncio.Event) -> None:
    """Run a channel's background task until the servers stop."""
    task = asyncio.ensure_future(runner())
    await stop.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def serve_all(settings: Settings, host: str, port: int, admin_port: int, only: str | None = None) -> None:
    """Run the web app and the admin app (or `only` one of them) in this event loop until SIGINT/SIGTERM."""
    from admin import create_admin_app

    binds = [(host, port)] if only in (None, "web") else []
    binds += [(settings.ADMIN_HOST, admin_port)] if only in (None, "admin") else []
    if len(set(binds)) < len(binds):
        raise StartupError(f"the web app and the dashboard cannot both listen on {host}:{port}")
    for bind_host, bind_port in binds:
        check_bindable(bind_host, bind_port)  # before the embedded store starts: nothing to undo
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
                channels = enabled_channels(services)
                servers.append(_serve_app(build_web_app(services, channels), host, port, stop))
                servers += [_run_until_stopped(runner, stop) for channel in channels for runner in channel.runners()]
                print(f"ChatGate web app   http://{host}:{port}", flush=True)
            if only in (None, "admin"):
                servers.append(_serve_app(create_admin_app(services), settings.ADMIN_HOST, admin_port, stop))
                print(f"ChatGate dashboard http://{settings.ADMIN_HOST}:{admin_port}", flush=True)
            servers += [_run_until_stopped(job, stop) for job in background_jobs(services)]
            servers.append(_run_until_stopped(partial(flush_metrics_forever, services), stop))
            print(f"Data: {handle.description}", flush=True)
            print(f"Event loop: {type(loop).__module__.split('.')[0]}", flush=True)
            _settle_heap()
            await _run_servers(servers, stop)
        finally:
            await services.close()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def serve_web_until_stopped(settings: Settings, fd: int) -> None:
    """One worker of `chatgate serve --workers N`: the web app on an inherited socket, its channels' runners and
    the background jobs (each under its lease), until SIGINT/SIGTERM."""
    stop = _stop_on_signals()
    async with open_store(settings) as handle:
        services = await build_services(settings, handle.store)
        try:
            channels = enabled_channels(services)
            app = build_web_app(services, channels)
            servers = [serve(app, _hypercorn_config(f"fd://{fd}"), shutdown_trigger=stop.wait)]
            servers += [_run_until_stopped(runner, stop) for channel in channels for runner in channel.runners()]
            servers += [_run_until_stopped(job, stop) for job in background_jobs(services)]
            servers.append(_run_until_stopped(partial(flush_metrics_forever, services), stop))
            _settle_heap()
            await _run_servers(servers, stop)
        finally:
            await services.close()


async def serve_admin_until_stopped(settings: Settings, admin_port: int, stop: asyncio.Event) -> None:
    """The dashboard of `chatgate serve --workers N`, in the supervising process, until `stop`."""
    from admin import create_admin_app

    async with open_store(settings) as handle:
        services = await build_services(settings, handle.store)
        try:
            print(f"ChatGate dashboard http://{settings.ADMIN_HOST}:{admin_port}", flush=True)
            print(f"Data: {handle.description}", flush=True)
            flushing = _run_until_stopped(partial(flush_metrics_forever, services), stop)
            await _run_servers(
                [_serve_app(create_admin_app(services), settings.ADMIN_HOST, admin_port, stop), flushing], stop
            )
        finally:
            await services.close()
