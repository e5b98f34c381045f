"""The shared shape of the HTTP fakes: an aiohttp app on 127.0.0.1 at a free port, run in the test's loop.

async with MailgunFake() as fake:          # start() / stop() also work
    settings = settings.model_copy(update=fake.settings_update())
    ...                                    # fake.url, fake.port, fake.messages
"""

from __future__ import annotations

import re
from types import TracebackType
from typing import Any, Self

from aiohttp import web

SIX_DIGITS = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def extract_code(text: str) -> str:
    """Return the first 6-digit number in a message text; fail loudly when there is none."""
    match = SIX_DIGITS.search(text)
    if match is None:
        raise AssertionError(f"no 6-digit code in {text!r}")
    return match.group(1)


class LoopbackApp:
    """Base class: subclasses return their routes; accepted messages go to `self.messages`."""

    handler_cancellation = False  # True: a handler stops when its client hangs up (long polls)

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def middlewares(self) -> list[web.Middleware]:
        return []

    def settings_update(self) -> dict[str, Any]:
        """Return the settings that point ChatGate at this fake (for `Settings.model_copy(update=...)`)."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Self:
        app = web.Application(middlewares=self.middlewares())
        app.add_routes(self.routes())
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, handler_cancellation=self.handler_cancellation
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
