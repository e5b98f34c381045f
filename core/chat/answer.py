"""Producing the answer of a charged call: streamed piece by piece, or whole (non-stream), moderated either way.

Each piece is moderated before it is forwarded; the call is settled once, whichever way the answer ends: usage is
the upstream's figures for a complete answer, else the prompt plus what was actually delivered (counted in the
token pool, off the event loop when the answer is big); a failure before the first token refunds the slot. While
the answer runs, its stream slot is renewed (core.chat.charge).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, Any

from core.chat.charge import Charge, shielded
from core.chat.events import ChatDelta, ChatDone, ChatError, ChatEvent, ChatStart, ChatStream
from core.errors import ContentBlocked, StoreUnavailable, UpstreamError
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
    try:
        for text in completion.texts or (completion.text,):  # each of the `n` answers on its own
            guard = services.moderation.output_guard(user_id=user_id, channel=charge.channel)
            await guard.feed(text)
            await guard.finish()
    except ContentBlocked:
        await charge.settle(Usage(completion.usage.prompt_tokens, 0, completion.usage.estimated), "")
        raise
    start = await charge.open()
    if not await charge.settle(completion.usage, completion.text):
        raise StoreUnavailable()  # neither saved nor counted: not given as an answer either
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
        self.others: dict[int, OutputGuard] = {}  # the other answers' guards (`n` > 1), one per choice index
        self.delivered: list[str] = []
        self.delivered_others: list[str] = []
        self.completed = False
        self.failed = False
        self.finished = False
        self.settled = False
        self.usage_chunk = False  # give the caller a usage chunk when the upstream sent none

    def stream(self) -> ChatStream:
        return ChatStream(self.events(), self.start, self.finish)

    async def events(self) -> AsyncGenerator[ChatEvent, None]:
        guard, delivered = self.guard, self.delivered
        metrics, channel = self.charge.services.metrics, self.charge.channel
        metrics.add("chatgate_active_streams", 1, channel=channel)
        try:
            if self.start is not None:
                yield self.start
            async for event in self.upstream:  # one event per network read: moderated before it is forwarded
                content = event.content
                try:
                    if content:
                        await guard.feed(content)
                    if event.others:
                        await self._feed_others(event.others)
                    if event.done and event.error is None:
                        await guard.finish()
                        for other in self.others.values():
                            await other.finish()
                except ContentBlocked as blocked:
                    yield ChatError(blocked, error_event(blocked.message, blocked.code, "invalid_request_error"))
                    return
                if content:
                    delivered.append(content)
                if event.others:
                    self.delivered_others.extend(text for _, text in event.others)
                raw = event.raw
                if event.done and event.error is None:
                    self.completed = True
                    raw = await self._with_usage(raw)
                yield ChatDelta(content, raw)
                if event.error is not None:
                    self.failed = True
                    yield ChatError(_upstream_failure(event.error), b"")
                    return
                if event.done:  # saved and counted before it is called done (a store away: it was not)
                    usage = await self.usage()
                    yield ChatDone(usage) if await self.finish() else ChatError(StoreUnavailable(), b"")
                    return
                if self.charge.slot_due():
                    await self.charge.renew_slot()
        finally:
            metrics.add("chatgate_active_streams", -1, channel=channel)
            await self.finish()

    async def _feed_others(self, others: tuple[tuple[int, str], ...]) -> None:
        """Moderate the other answers of an `n` > 1 call, each with its own guard (words split across its pieces)."""
        for index, text in others:
            guard = self.others.get(index)
            if guard is None:
                charge = self.charge
                moderation = charge.services.moderation
                guard = self.others[index] = moderation.output_guard(user_id=charge.charged.user_id,
                                                                     channel=charge.channel)  # fmt: skip
            await guard.feed(text)

    async def _with_usage(self, raw: bytes) -> bytes:
        """Add a usage chunk to the last bytes when the caller asked for one and the upstream sent none."""
        if not self.usage_chunk or self.upstream.reported_usage is not None:
            return raw
        usage = await self.usage()
        return with_usage_chunk(raw, self.charge.charged.model.id, usage.prompt_tokens, usage.completion_tokens)

    async def finish(self) -> bool:
        """Close the upstream, then settle; once, whichever way the answer ended. True when settled."""
        if self.finished:
            return self.settled
        self.finished = True
        await self.upstream.aclose()  # first: a caller that left must not keep the upstream generating
        if not self.completed:
            await asyncio.sleep(0)  # let the transport really close before settling (token counting is CPU)
        self.settled = await self._settle()
        return self.settled

    async def usage(self) -> Usage:
        """The upstream's usage for a complete answer, else the prompt plus a count of what was delivered."""
        if self.completed:
            return await self.upstream.count_usage()
        charged, tokens = self.charge.charged, self.charge.services.relay.tokens
        name, reported = charged.model.remote_name, self.upstream.reported_usage
        if reported is not None:
            prompt = reported.prompt_tokens
        elif charged.prompt_tokens is not None:
            prompt = charged.prompt_tokens
        else:
            prompt = await tokens.count_messages(charged.messages, name)
        text = "".join(self.delivered) + "".join(self.delivered_others)
        return Usage(prompt, await tokens.count_text(text, name), estimated=True)

    async def _settle(self) -> bool:
        if self.failed and not self.delivered and not self.delivered_others:
            await self.charge.refund()  # the upstream failed before the first token: nothing is charged
            return True
        if self.completed and self.upstream.reported_usage is not None:  # nothing to count: settle (shielded) now
            return await self.charge.settle(await self.upstream.count_usage(), "".join(self.delivered))
        # Counting may take a pool hop: shielded with the writes, so a caller that left cannot lose the settlement.
        settled: list[bool] = []
        await shielded(self._count_and_settle(settled), "usage accounting")
        return bool(settled and settled[0])

    async def _count_and_settle(self, settled: list[bool]) -> None:
        settled.append(await self.charge.settle(await self.usage(), "".join(self.delivered)))


def _upstream_failure(error: Mapping[str, Any]) -> UpstreamError:
    message = str(error.get("message") or UpstreamError.default_message)
    return UpstreamError(message, upstream_code=str(error.get("code") or "upstream_error"))
