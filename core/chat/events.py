"""The events of one chat answer, as every channel receives them, and the stream that yields them.

A turn's answer is: ChatStart (where it is saved; conversation turns only), ChatDelta pieces, then ChatDone or
ChatError. `ChatStream` must be closed (`aclose()`, in a finally) whichever way the caller stops reading.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from core.billing.quotas import RateState
from core.errors import CoreError
from core.relay.stream import Usage


@dataclass(frozen=True, slots=True)
class ChatStart:
    """The first event of a conversation turn: where the answer will be saved."""

    conversation_id: str
    message_id: str  # the assistant message being written
    user_message_id: str
    title: str


@dataclass(frozen=True, slots=True)
class ChatDelta:
    content: str  # the new answer text in this piece (may be empty: role, finish or usage chunks)
    raw: bytes  # the upstream's SSE events (or JSON body when not streaming), to forward unchanged on /v1


@dataclass(frozen=True, slots=True)
class ChatDone:
    usage: Usage


@dataclass(frozen=True, slots=True)
class ChatError:
    error: CoreError  # content_filter, or upstream_error when the upstream broke mid-way
    raw: bytes  # the OpenAI error event + [DONE] to forward on /v1 (empty when `raw` of a delta carried it)


ChatEvent = ChatStart | ChatDelta | ChatDone | ChatError


class ChatStream:
    """The events of one answer. Iterate once; always `aclose()` (in a finally): it stops the upstream at once."""

    def __init__(
        self,
        events: AsyncGenerator[ChatEvent, None],
        start: ChatStart | None = None,
        finish: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._events = events
        self._finish = finish
        self.start = start
        self.rate: RateState | None = None  # the caller's limits after this call took its quota (/v1 headers)

    def __aiter__(self) -> AsyncIterator[ChatEvent]:
        return self._events

    async def aclose(self) -> None:
        """Stop the answer and settle it (also when it was never iterated)."""
        await self._events.aclose()
        if self._finish is not None:
            await self._finish()
