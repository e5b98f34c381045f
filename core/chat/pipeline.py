"""The chat path: `relay_chat`, the one function behind /v1, the web chat and the bots.

In order: model lookup, plan, input moderation of the new user message only, atomic quota consume, context
fitting, upstream selection with failover (core.relay.engine), streaming with output moderation, usage accounting.
Nothing is consumed when the request is refused, and the slot is refunded when the upstream fails before the
first token. Usage counts the upstream's figures for a complete answer, else what was actually delivered.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from core.billing.plans import Plan
from core.billing.quotas import QuotaTicket, consume_quota, refund_quota
from core.billing.subscriptions import Subscription, current_plan, plan_for
from core.billing.usage import record_usage
from core.chat.request import (
    PASSTHROUGH_PARAMS,
    ChatRequest,
    caller_texts,
    check_messages,
    fit_messages,
)
from core.chat.token_count import count_tokens
from core.chat.turns import ChatStart, ChatTurn, PreparedTurn, close_turn, open_turn, prepare_turn
from core.errors import ContentBlocked, CoreError, InvalidInput, ModelNotFound, ModelNotInPlan, UpstreamError
from core.moderation import OutputGuard
from core.relay.catalogue import Model, cached_model
from core.relay.engine import RelayStream, Usage
from core.relay.upstream_sse import DONE

if TYPE_CHECKING:
    from core.accounts.users import User
    from core.services import Services

__all__ = [
    "PASSTHROUGH_PARAMS",
    "Charged",
    "ChatDelta",
    "ChatDone",
    "ChatError",
    "ChatEvent",
    "ChatRequest",
    "ChatStart",
    "ChatStream",
    "ChatTurn",
    "answer_charged",
    "fit_messages",
    "relay_chat",
]

log = logging.getLogger(__name__)


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
        finish: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._events = events
        self._finish = finish
        self.start = start

    def __aiter__(self) -> AsyncIterator[ChatEvent]:
        return self._events

    async def aclose(self) -> None:
        """Stop the answer and settle it (also when it was never iterated)."""
        await self._events.aclose()
        if self._finish is not None:
            await self._finish()


async def relay_chat(
    services: Services, user: User, request: ChatRequest, *, subscriptions: list[Subscription] | None = None
) -> ChatStream:
    """Run one chat call; raise CoreError for anything refused before the answer starts.

    `subscriptions`: the user's subscriptions ending after a moment just before this call, when the caller has
    already read them (API-key auth does, in its own round trip); else they are read here.
    """
    store, now = services.store, services.clock()
    model = await cached_model(store, request.model)
    if model is None or not model.enabled:
        raise ModelNotFound(f"The model `{request.model}` does not exist.", model=request.model)
    if subscriptions is None:
        plan = await current_plan(store, user.id, now)
    else:
        plan = await plan_for(store, subscriptions, now)
    if model.id not in plan.limits:  # cheaper to say now than after moderation; consume checks it again
        raise ModelNotInPlan(f"The {plan.title} plan does not include {model.id}.", model=model.id, plan=plan.name)
    prepared = await _prepare(services, user.id, request)
    messages = prepared.messages if prepared else request.messages or []
    # A turn (web, bots): its new words and its system prompt, the stored history was checked when it was new.
    texts = [prepared.new_text, prepared.turn.system or ""] if prepared else caller_texts(messages)
    await services.moderation.check_texts(texts, user.id)
    fitted, prompt_tokens = fit_messages(model, messages, request.params)
    ticket = await consume_quota(store, user.id, plan, model.id, now)
    charged = Charged(user.id, model, plan, ticket, fitted, prompt_tokens)
    return await answer_charged(services, charged, request, prepared)


@dataclass(frozen=True)
class Charged:
    """A call that passed every check and holds its quota slot: what the answer needs."""

    user_id: int
    model: Model
    plan: Plan
    ticket: QuotaTicket
    messages: list[dict[str, Any]]  # fitted into the model's window
    prompt_tokens: int | None  # counted while fitting, else None


async def answer_charged(
    services: Services, charged: Charged, request: ChatRequest, prepared: PreparedTurn | None = None
) -> ChatStream:
    """Send a charged call upstream and return its answer; the slot is refunded if no upstream answers."""
    charge = _Charge(services, charged.user_id, charged.model, charged.plan, charged.ticket, prepared)
    body = {**request.params, "messages": charged.messages}
    if not request.stream:
        return await _complete(services, charge, body, charged.prompt_tokens)
    try:
        upstream = await services.relay.stream(
            charged.model, body, include_usage=request.include_usage, prompt_tokens=charged.prompt_tokens
        )
    except BaseException:
        await charge.refund()
        raise
    start = await charge.open(upstream)
    answer = _Answer(charge, upstream, services.moderation.output_guard(user_id=charged.user_id), start)
    answer.usage_chunk = request.include_usage and request.turn is None  # /v1 asked for stream_options.include_usage
    return ChatStream(answer.events(), start, answer.finish)


async def _prepare(services: Services, user_id: int, request: ChatRequest) -> PreparedTurn | None:
    if request.turn is None:
        if request.messages is None:
            raise InvalidInput("A chat request needs messages or a conversation turn.", field="messages")
        check_messages(request.messages)
        return None
    return await prepare_turn(services.store, services.settings, user_id, request.turn)


@dataclass
class _Charge:
    """What one call consumed, and how to settle it: refund, or usage + the saved answer."""

    services: Services
    user_id: int
    model: Model
    plan: Plan
    ticket: QuotaTicket
    prepared: PreparedTurn | None
    start: ChatStart | None = None

    async def open(self, upstream: RelayStream | None = None) -> ChatStart | None:
        """Save the user's side of a conversation turn; on failure close the upstream and refund."""
        if self.prepared is None:
            return None
        svc = self.services
        try:
            self.start = await open_turn(
                svc.store, svc.settings, self.user_id, self.prepared, self.model.id, svc.clock()
            )
        except BaseException:
            if upstream is not None:
                await upstream.aclose()
            await self.refund()
            raise
        return self.start

    async def refund(self) -> None:
        await _shielded(refund_quota(self.services.store, self.ticket), "refund")

    async def settle(self, usage: Usage, text: str) -> None:
        """Record usage (and the daily-token count) and save the answer; never raises."""
        await _shielded(self._settle(usage, text), "usage accounting")

    async def _settle(self, usage: Usage, text: str) -> None:
        svc, now = self.services, self.services.clock()
        await record_usage(
            svc.store, self.user_id, self.model.id, usage.prompt_tokens, usage.completion_tokens, now,
            daily_tokens=bool(self.plan.daily_tokens),
        )  # fmt: skip
        if self.prepared is not None and self.start is not None:
            await close_turn(svc.store, svc.settings, self.user_id, self.prepared, self.start, text, self.model.id, now)


async def _shielded(work: Any, what: str) -> None:
    """Finish store writes even when the caller's task is being cancelled (a client that went away)."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("chat %s failed", what)


async def _complete(services: Services, charge: _Charge, body: dict[str, Any], prompt_tokens: int | None) -> ChatStream:
    """Run a non-stream call: the whole answer is moderated before any of it is returned."""
    try:
        completion = await services.relay.complete(charge.model, body, prompt_tokens=prompt_tokens)
    except BaseException:
        await charge.refund()
        raise
    guard = services.moderation.output_guard(user_id=charge.user_id)
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


class _Answer:
    """One streamed answer: moderate each piece, forward it, and settle whatever way the stream ends."""

    def __init__(self, charge: _Charge, upstream: RelayStream, guard: OutputGuard, start: ChatStart | None) -> None:
        self.charge = charge
        self.upstream = upstream
        self.guard = guard
        self.start = start
        self.delivered: list[str] = []
        self.completed = False
        self.failed = False
        self.finished = False
        self.usage_chunk = False  # give the caller a usage chunk when the upstream sent none

    async def events(self) -> AsyncGenerator[ChatEvent, None]:
        guard, delivered = self.guard, self.delivered
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
                    yield ChatError(blocked, openai_error_event(blocked))
                    return
                if content:
                    delivered.append(content)
                raw = event.raw
                if event.done and self.usage_chunk and event.error is None and self.upstream.usage.estimated:
                    raw = with_usage_chunk(raw, self.upstream.usage, self.charge.model.id)
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
        delivered = count_tokens("".join(self.delivered), self.charge.model.remote_name)
        return Usage(reported.prompt_tokens, delivered, estimated=True)

    async def _settle(self) -> None:
        if self.failed and not self.delivered:
            await self.charge.refund()  # the upstream failed before the first token: nothing is charged
            return
        await self.charge.settle(self.usage(), "".join(self.delivered))


def with_usage_chunk(raw: bytes, usage: Usage, model: str) -> bytes:
    """Put an OpenAI usage chunk (our count) before the stream's closing [DONE]."""
    chunk = {
        "id": f"chatcmpl-{secrets.token_hex(12)}", "object": "chat.completion.chunk", "created": int(time.time()),
        "model": model, "choices": [],
        "usage": {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                  "total_tokens": usage.total_tokens},
    }  # fmt: skip
    event = b"data: " + orjson.dumps(chunk) + b"\n\n"
    return raw[: -len(DONE)] + event + DONE if raw.endswith(DONE) else raw + event


def _upstream_failure(error: Mapping[str, Any]) -> UpstreamError:
    message = str(error.get("message") or UpstreamError.default_message)
    return UpstreamError(message, upstream_code=str(error.get("code") or "upstream_error"))


def openai_error_event(error: CoreError) -> bytes:
    """Return the OpenAI-style error event and the [DONE] that end a stream we stopped."""
    body = {"error": {"message": error.message, "type": "invalid_request_error", "param": None, "code": error.code}}
    return b"data: " + orjson.dumps(body) + b"\n\ndata: [DONE]\n\n"
