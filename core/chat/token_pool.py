"""Token counting off the event loop: big texts go to a small pool of low-priority threads, small ones are counted
in place.

tiktoken's encoder is Rust and releases the GIL while it encodes, so a count in a worker thread leaves the event
loop free: one caller's megabyte request never holds up everybody else's. Texts under INLINE_CHARS cost less to
count in place (microseconds) than the hop to a thread. TOKEN_COUNT_WORKERS bounds how many counts run at once
(the rest wait in the pool's queue), and the workers run at a lower CPU priority (Linux: a higher nice value for
the thread), so when the machine is busy the event loop's thread is served first.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from core.chat.token_count import count_message_tokens, count_tokens

log = logging.getLogger(__name__)
T = TypeVar("T")

INLINE_CHARS = 2_000  # counted in place below this size (~0.1 ms of tokenizer at most)
WORKER_NICENESS = 10  # added to a worker thread's nice value (lower CPU priority than the event loop)


def _lower_priority() -> None:
    """Run this worker thread at a lower CPU priority (Linux applies nice values per thread)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: the pool still works at normal priority
        log.debug("could not lower the priority of a token-counting thread")


def text_size(messages: Sequence[Mapping[str, Any]]) -> int:
    """Return about how many characters counting these messages reads (cheap: no copy, no encoding)."""
    size = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            size += len(content)
        elif isinstance(content, list):
            size += sum(len(part.get("text") or "") for part in content if isinstance(part, Mapping))
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping):
                size += len(str(function.get("arguments") or ""))
    return size


class TokenPool:
    """Count tokens without blocking the event loop; one per process (owned by the relay, closed with it)."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._executor: ThreadPoolExecutor | None = None

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self.workers, thread_name_prefix="tokens", initializer=_lower_priority
            )
        return self._executor

    async def run(self, size: int, work: Callable[..., T], *args: Any) -> T:
        """Run `work(*args)` in place when `size` (characters) is small, else in the pool."""
        if size < INLINE_CHARS:
            return work(*args)
        return await asyncio.get_running_loop().run_in_executor(self._pool(), work, *args)

    async def count_text(self, text: str, model: str) -> int:
        """Count the tokens of a text (e.g. a delivered answer)."""
        return await self.run(len(text), count_tokens, text, model)

    async def count_messages(self, messages: Sequence[Mapping[str, Any]], model: str) -> int:
        """Count the prompt tokens of chat messages."""
        return await self.run(text_size(messages), count_message_tokens, messages, model)

    def close(self) -> None:
        """Stop the workers; counts already running finish on their own."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
