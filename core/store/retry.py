"""Writes that must reach the store although it is away for a moment (a restart): sent again until it is back.

Only for idempotent writes, or writes made idempotent (`again` tells the attempt that an earlier one may have been
done: its answer was lost with the connection). `until_stored` waits (the caller needs the outcome); `later` runs
it in the background (the caller answers now, e.g. a 503, and the write follows when the store is back).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from core.store.connection import STORE_ERRORS

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_SECONDS = 10.0  # how long a write waits for a store that went away (a restart takes about a second)
RETRY_PAUSE = 0.2
_background: set[asyncio.Task[None]] = set()  # referenced until done (the loop keeps only weak references)


async def until_stored(attempt: Callable[[bool], Awaitable[T]], what: str, seconds: float = RETRY_SECONDS) -> T:
    """Return `await attempt(again)` once the store answers; raise the store's error after `seconds`."""
    deadline = time.monotonic() + seconds
    again = False
    while True:
        try:
            return await attempt(again)
        except STORE_ERRORS as error:
            if time.monotonic() > deadline:
                raise
            log.warning("%s waits for the store: %s", what, type(error).__name__)
            again = True
            await asyncio.sleep(RETRY_PAUSE)


def later(attempt: Callable[[bool], Awaitable[object]], what: str) -> None:
    """Run `until_stored(attempt)` in the background; a failure after RETRY_SECONDS is logged."""

    async def run() -> None:
        try:
            await until_stored(attempt, what)
        except Exception:
            log.exception("%s failed", what)

    task = asyncio.ensure_future(run())
    _background.add(task)
    task.add_done_callback(_background.discard)
