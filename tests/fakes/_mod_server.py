"""The loopback server under the moderation fakes: start on port 0, fail on demand (500 or a hang), stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Literal

from aiohttp import web
from aiohttp.typedefs import Handler

Failure = Literal["500", "timeout"] | None


class LoopbackFake:
    """Base of a fake API server on 127.0.0.1; subclasses give `routes()`."""

    def __init__(self) -> None:
        self.url = ""
        self.fail: Failure = None
        self.hang_seconds = 10.0
        self.calls = 0  # every HTTP request, failed on purpose or not
        self._runner: web.AppRunner | None = None
        self._release: asyncio.Event | None = None

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    @web.middleware
    async def _failures(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.calls += 1
        if self.fail == "500":
            return web.Response(status=500, text="Internal Server Error")
        if self.fail == "timeout":
            assert self._release is not None
            # Hang like a dead backend; stop() releases the handler so shutdown does not wait.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), self.hang_seconds)
            return web.Response(status=504, text="Gateway Timeout")
        return await handler(request)

    async def start(self) -> str:
        self._release = asyncio.Event()
        app = web.Application(middlewares=[self._failures])
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self._release is not None:
            self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LoopbackFake:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
