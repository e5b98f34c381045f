"""Producing the answer of a charged call: streamed piece by piece, or whole (non-stream), moderated either way.

Each piece is moderated before it is forwarded; the call is settled once, whichever way the answer ends: usage is
the upstream's figures for a complete answer, else the prompt plus what was actually delivered; a failure before
the first token refunds the slot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, Any

from core.chat.charge import Charge
from core.chat.events import ChatDelta, ChatDone, ChatError, ChatEvent, ChatStart, ChatStream
from core.chat.token_count import count_tokens
from core.errors import ContentBlocked, UpstreamError
from core.moderation import OutputGuard
from core.relay.stream import RelayStream, Usage
from core.relay.upstream_sse import error_event, with_usage_chunk

if TYPE_CHECKING:
    from core.services import Services


async def complete_answer(
    services: Services, charge: Charge, body: dict[str, Any], prompt_tokens: int | None
) -> ChatStream:
    """Run a non-stream call: the whole answer is moderated before any of it is returned."""
    model, user_id = charge.charged.model, charge.charged.user_id
    try:
        completion = await services.relay.complete(model, body, prompt_tokens=prompt_tokens)
    except BaseException:
        await charge.refund()
        raise
    guard = services.moderation.output_guard(user_id=user_id)
    try:
        await guard.feed(completion.text)
        await guard.finish()
    except ContentBlocked:
        await charge.settle(Usage(completion.usage.prompt_tokens, 0, completion.usage.estimated), "")
        raise
    start = await charge.open()
    await charge.settle(completion.usage, completion.text)
    events: list[ChatEvent] = [ChatDelta(completion.text, completion.body), ChatDone(completion.usage)]
    return ChatStream(_replay([start, *events] if start else events), start)


async def _replay(events: list[ChatEvent]) -> AsyncGenerator[ChatEvent, None]:
    for event in events:
        yield event


class StreamedAnswer:
    """One streamed answer: moderate each piece, forward it, and settle whatever way the stream ends."""

    def __init__(self, charge: Charge, upstream: RelayStream, guard: OutputGuard, start: ChatStart | None) -> None:
        self.charge = charge
        self.upstream = upstream
        self.guard = guard
        self.start = start
        self.delivered: list[str] = []
        self.completed = False
        self.failed = False
        self.finished = False
        self.usage_chunk = False  # give the caller a usage chunk when the upstream sent none

    def stream(self) -> ChatStream:
        return ChatStream(self.events(), self.start, self.finish)

    async def events(self) -> AsyncGenerator[ChatEvent, None]:
        guard, delivered = self.guard, self.delivered
        metrics = self.charge.services.metrics
        metrics.add("chatgate_active_streams", 1)
        try:
            if self.start is not None:
                yield self.start
            async for event in self.upstream:  # one event per network read: moderated before it is forwarded
                content = event.content
                try:
                    if content:
                        await guard.feed(content)
                    if event.done and event.error is None:
                        await guard.finish()
                except ContentBlocked as blocked:
                    yield ChatError(blocked, error_event(blocked.message, blocked.code, "invalid_request_error"))
                    return
                if content:
                    delivered.append(content)
                raw = event.raw
                if event.done and self.usage_chunk and event.error is None and self.upstream.usage.estimated:
                    usage = self.upstream.usage
                    raw = with_usage_chunk(
                        raw, self.charge.charged.model.id, usage.prompt_tokens, usage.completion_tokens
                    )
                yield ChatDelta(content, raw)
                if event.error is not None:
                    self.failed = True
                    yield ChatError(_upstream_failure(event.error), b"")
                    return
                if event.done:
                    self.completed = True
                    yield ChatDone(self.usage())
                    return
        finally:
            metrics.add("chatgate_active_streams", -1)
            await self.finish()

    async def finish(self) -> None:
        """Close the upstream, then settle; once, whichever way the answer ended."""
        if self.finished:
            return
        self.finished = True
        await self.upstream.aclose()  # first: a caller that left must not keep the upstream generating
        if not self.completed:
            await asyncio.sleep(0)  # let the transport really close before settling (token counting is CPU)
        await self._settle()

    def usage(self) -> Usage:
        """The upstream's usage for a complete answer, else the prompt plus a count of what was delivered."""
        reported = self.upstream.usage
        if self.completed:
            return reported
        delivered = count_tokens("".join(self.delivered), self.charge.charged.model.remote_name)
        return Usage(reported.prompt_tokens, delivered, estimated=True)

    async def _settle(self) -> None:
        if self.failed and not self.delivered:
            await self.charge.refund()  # the upstream failed before the first token: nothing is charged
            return
        await self.charge.settle(self.usage(), "".join(self.delivered))


def _upstream_failure(error: Mapping[str, Any]) -> UpstreamError:
    message = str(error.get("message") or UpstreamError.default_message)
    return UpstreamError(message, upstream_code=str(error.get("code") or "upstream_error"))
