"""The loopback server under the moderation fakes: the shared `LoopbackApp`, plus failures on demand.

`fake.fail = "500"` answers every request with a 500; `fake.fail = "timeout"` hangs like a dead backend until
`hang_seconds` pass or `stop()` releases it (so shutdown never waits).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal, Self

from aiohttp import web
from aiohttp.typedefs import Handler

from tests.fakes._loopback import LoopbackApp

Failure = Literal["500", "timeout"] | None


class LoopbackFake(LoopbackApp):
    """Base of a fake API server on 127.0.0.1 that can be told to fail; subclasses give `routes()`."""

    def __init__(self) -> None:
        super().__init__()
        self.fail: Failure = None
        self.hang_seconds = 10.0
        self.calls = 0  # every HTTP request, failed on purpose or not
        self._release = asyncio.Event()

    @web.middleware
    async def _failures(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.calls += 1
        if self.fail == "500":
            return web.Response(status=500, text="Internal Server Error")
        if self.fail == "timeout":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), self.hang_seconds)
            return web.Response(status=504, text="Gateway Timeout")
        return await handler(request)

    def middlewares(self) -> list[web.Middleware]:
        return [self._failures]

    async def start(self) -> Self:
        self._release = asyncio.Event()
        return await super().start()

    async def stop(self) -> None:
        self._release.set()
        await super().stop()
