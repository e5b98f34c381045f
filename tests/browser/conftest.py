"""Browser fixtures: the real web and admin apps served by Hypercorn in a background thread, and headless Chromium.

The server thread has its own event loop; it runs both apps on 127.0.0.1 (pre-bound sockets, so no port race)
over the session store, with the SMTP fake as the email provider, so tests read codes from real mail.
The store is flushed before each test. Screenshots go to test-output/screenshots/<page>-<lang>-<width>-<theme>.png.
Chromium is the Debian binary driven by Playwright; without it the tests skip locally and FAIL under CI=true.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
from hypercorn.asyncio import serve
from hypercorn.config import Config

from admin import create_admin_app
from core.services import Services, build_services
from core.settings import Settings
from tests.conftest import CLUSTER, TEST_JWT_SECRET, connect_test_store
from tests.fakes.smtp import SmtpFake
from webui import create_app

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
SITE_TITLE = "ChatGate"
WECHAT_OA = "ChatGate助手"
CODE_COOLDOWN = 3  # seconds; short so one test can request a second code for the same address
T = TypeVar("T")


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _config(sock: socket.socket) -> Config:
    config = Config()
    # Hypercorn closes the socket it serves on; give it a duplicate, so closing ours later never closes a number
    # that meanwhile belongs to something else (another test's event loop).
    config.bind = [f"fd://{os.dup(sock.fileno())}"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 1.0
    return config


@dataclass
class LiveServer:
    """The web app and the dashboard, served for real in a thread of their own."""

    store_url: str
    data_dir: Path
    url: str = ""
    admin_url: str = ""
    smtp: SmtpFake = field(default_factory=SmtpFake)
    services: Services | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _error: BaseException | None = None
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="live-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the live server did not start within 30 s")
        if self._error is not None:
            raise RuntimeError("the live server failed to start") from self._error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(15)

    def call(self, make: Callable[[Services], Awaitable[T]]) -> T:
        """Run `make(services)` on the server's loop (e.g. a core function) and return its result."""
        assert self._loop is not None and self.services is not None
        services = self.services

        async def run() -> T:
            return await make(services)

        future: Future[T] = asyncio.run_coroutine_threadsafe(run(), self._loop)
        return future.result(30)

    def code_for(self, address: str, timeout: float = 10.0) -> str:
        """Wait for the code mailed to `address` through the SMTP fake and return it."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                return self.smtp.code_for(address)
            except AssertionError:
                time.sleep(0.05)
        raise AssertionError(f"no code was mailed to {address}")

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # report startup failures to the waiting test thread
            self._error = error
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        web_sock, admin_sock = _listening_socket(), _listening_socket()
        self.url = f"http://127.0.0.1:{web_sock.getsockname()[1]}"
        self.admin_url = f"http://127.0.0.1:{admin_sock.getsockname()[1]}"
        await self.smtp.start()
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            CHATGATE_ENV="test",
            DATA_DIR=self.data_dir,
            REDIS_URL=self.store_url,
            REDIS_CLUSTER=CLUSTER,
            JWT_SECRET=TEST_JWT_SECRET,  # type: ignore[arg-type]
            DOMAIN=self.url,
            NEXT_PUBLIC_TITLE=SITE_TITLE,
            NEXT_PUBLIC_WECHAT_OA=WECHAT_OA,
            CODE_COOLDOWN_SECONDS=CODE_COOLDOWN,
            AUTO_TITLES=False,  # the title request would be the fake's last; the title tests turn it on
            **self.smtp.settings_update(),
        )
        store = connect_test_store(self.store_url)
        self.services = await build_services(settings, store)
        try:
            web, admin = create_app(self.services), create_admin_app(self.services)
            self._ready.set()
            await asyncio.gather(
                serve(web, _config(web_sock), shutdown_trigger=self._stop.wait),
                serve(admin, _config(admin_sock), shutdown_trigger=self._stop.wait),
            )
        finally:
            await self.services.close()
            await self.smtp.stop()
            web_sock.close()
            admin_sock.close()


@pytest.fixture(scope="session")
def live_server(store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(store_url=store_url, data_dir=tmp_path_factory.mktemp("browser-data"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server(live_server: LiveServer, store_url: str) -> LiveServer:
    """The live server over an emptied store."""
    client = redis.Redis.from_url(store_url)
    try:
        client.flushall()
    finally:
        client.close()
    live_server.smtp.messages.clear()
    live_server.call(_forget_runtime_config)  # the server's copy of what a previous test configured
    return live_server


async def _forget_runtime_config(services: Services) -> None:
    services.store.config.forget_where(lambda _name: True)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(message: str) -> None:
    """Skip locally, fail under CI: browser tests must never be skipped silently there."""
    if _in_ci():
        pytest.fail(f"{message}: browser tests must run in CI", pytrace=False)
    pytest.skip(message)


# Module scope, not session: the sync Playwright API keeps an event loop running in the main thread while it is
# started, which would break every async test collected after the browser tests.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        _unavailable("chromium is not installed (apt install chromium fonts-wqy-microhei)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
