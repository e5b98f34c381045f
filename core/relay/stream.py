"""One relayed stream: upstream SSE bytes handed to the caller as they arrive, usage known at the end."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp

from core.chat.token_count import count_message_tokens, count_tokens
from core.chat.token_pool import TokenPool
from core.relay.catalogue import Model, Upstream
from core.relay.upstream_sse import DONE, RelayEvent, SSEParser, error_event

DRAIN_SECONDS = 0.5  # after [DONE], wait this long for the end of the body so the connection can be reused
OnFault = Callable[[Upstream, str], Awaitable[None]]


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False  # counted by us with tiktoken: the upstream sent none or the stream broke

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def usage_from(
    reported: Mapping[str, Any] | None,
    model: Model,
    messages: Sequence[Mapping[str, Any]],
    text: str,
    prompt_tokens: int | None,
) -> Usage:
    """Return the upstream's usage, else count the prompt and the delivered text with tiktoken."""
    if reported:
        return Usage(int(reported.get("prompt_tokens") or 0), int(reported.get("completion_tokens") or 0))
    if prompt_tokens is None:
        prompt_tokens = count_message_tokens(messages, model.remote_name)
    return Usage(prompt_tokens, count_tokens(text, model.remote_name), estimated=True)


async def count_usage(
    tokens: TokenPool,
    reported: Mapping[str, Any] | None,
    model: Model,
    messages: Sequence[Mapping[str, Any]],
    text: str,
    prompt_tokens: int | None,
) -> Usage:
    """`usage_from`, with any counting done by the token pool (off the event loop when the text is big)."""
    if reported:
        return usage_from(reported, model, messages, text, prompt_tokens)
    if prompt_tokens is None:
        prompt_tokens = await tokens.count_messages(messages, model.remote_name)
    return Usage(prompt_tokens, await tokens.count_text(text, model.remote_name), estimated=True)


class RelayStream:
    """Async iterator of RelayEvent; ends with [DONE], or with an error event when the upstream fails mid-way.

    Stopping early (aclose, or the consuming task cancelled because the caller went away) closes the upstream
    connection at once, so the upstream stops generating and nothing more is read or counted.
    """

    def __init__(
        self,
        *,
        model: Model,
        upstream: Upstream,
        response: aiohttp.ClientResponse,
        parser: SSEParser,
        first: RelayEvent,
        messages: Sequence[Mapping[str, Any]],
        prompt_tokens: int | None,
        on_fault: OnFault,
        tokens: TokenPool | None = None,
        on_success: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.model = model
        self.upstream = upstream
        self.error: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self._response: aiohttp.ClientResponse | None = response
        self._parser = parser
        self._pending: RelayEvent | None = first
        self._messages = messages
        self._prompt_tokens = prompt_tokens
        self._on_fault = on_fault
        self._on_success = on_success  # called once when the answer ends complete (the upstream proved healthy)
        self._tokens = tokens or TokenPool(1)
        self._parts: list[str] = []
        self._others: list[str] = []  # the other answers' text of an `n` > 1 call (counted, never shown)
        self._reported: dict[str, Any] | None = None
        self._ended = False
        self._usage: Usage | None = None

    @property
    def text(self) -> str:
        """Return the content delivered to the caller so far (the first answer's, with `n` > 1)."""
        return "".join(self._parts)

    @property
    def all_text(self) -> str:
        """Return the text of every answer delivered so far (what a count without the upstream's usage bills)."""
        return self.text + "".join(self._others) if self._others else self.text

    @property
    def usage(self) -> Usage:
        """Return the upstream's usage, else a tiktoken count over the prompt and what was delivered."""
        if self._usage is None or not self._ended:
            self._usage = usage_from(self._reported, self.model, self._messages, self.all_text, self._prompt_tokens)
        return self._usage

    @property
    def reported_usage(self) -> Usage | None:
        """Return the usage the upstream reported, if it did (nothing is counted)."""
        reported = self._reported
        if not reported:
            return None
        return Usage(int(reported.get("prompt_tokens") or 0), int(reported.get("completion_tokens") or 0))

    async def count_usage(self) -> Usage:
        """`usage`, counted in the token pool when it must be counted (the chat path's way: never on the loop)."""
        if self._usage is None or not self._ended:
            self._usage = await count_usage(
                self._tokens, self._reported, self.model, self._messages, self.all_text, self._prompt_tokens
            )
        return self._usage

    def __aiter__(self) -> RelayStream:
        return self

    async def __anext__(self) -> RelayEvent:
        event = await self._next()
        if event.done and event.error is None and self._on_success is not None:
            succeeded, self._on_success = self._on_success, None
            await succeeded()
        return event

    async def _next(self) -> RelayEvent:
        if self._pending is not None:
            event, self._pending = self._pending, None
            return self._deliver(event)
        if self._ended:
            await self._drain()
            raise StopAsyncIteration
        response = self._response
        assert response is not None, "an open stream has a response"
        try:
            while True:
                chunk = await response.content.readany()
                if not chunk:
                    return self._deliver(self._end_of_body())
                batch = self._parser.feed(chunk)
                if batch is not None:
                    return self._deliver(batch)
        except TimeoutError:
            return await self._fault("The upstream stopped sending (idle timeout).", "upstream_timeout")
        except (aiohttp.ClientError, OSError):
            return await self._fault("The upstream connection broke mid-stream.", "upstream_broken")
        except BaseException:
            self._close()  # cancelled: the caller is gone, so is the upstream request
            raise

    async def aclose(self) -> None:
        """Stop relaying: release the upstream connection now (reused only if its body was complete)."""
        self._ended = True
        self._pending = None
        response = self._response
        if response is not None and response.content.at_eof():
            self._response = None
            response.release()
        else:
            self._close()

    async def __aenter__(self) -> RelayStream:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    def _deliver(self, event: RelayEvent) -> RelayEvent:
        if event.content:
            self._parts.append(event.content)
        if event.others:
            self._others.extend(text for _, text in event.others)
        if event.usage:
            self._reported = event.usage
        if event.finish_reason:
            self.finish_reason = event.finish_reason
        if event.done:
            self._ended = True
            if event.error is not None:
                self.error = event.error
                self._close()
        return event

    def _end_of_body(self) -> RelayEvent:
        """Finish at EOF: a last event without its blank line still counts; no finish_reason = a broken stream."""
        tail = self._parser.feed(b"\n\n") if self._parser.pending.strip() else None
        if tail is not None and tail.done:
            return tail
        content, raw = (tail.content, tail.raw) if tail else ("", b"")
        finish = (tail.finish_reason if tail else None) or self.finish_reason
        usage, others = (tail.usage, tail.others) if tail else (None, ())
        if finish:  # a complete answer whose server just omitted [DONE]
            return RelayEvent(raw + DONE, content, usage, finish, None, True, others)
        message, code = "The upstream closed the stream before it finished.", "upstream_broken"
        error = {"message": message, "code": code}
        return RelayEvent(raw + error_event(message, code), content, usage, None, error, True, others)

    async def _fault(self, message: str, code: str) -> RelayEvent:
        self._close()
        await self._on_fault(self.upstream, message)
        error = {"message": message, "code": code}
        return self._deliver(RelayEvent(error_event(message, code), error=error, done=True))

    async def _drain(self) -> None:
        """Read the end of a finished body so the connection goes back to the pool; close it if that is slow."""
        response = self._response
        if response is None:
            return
        if response.content.at_eof():
            self._response = None
            response.release()
            return
        try:
            async with asyncio.timeout(DRAIN_SECONDS):
                while await response.content.readany():
                    pass
        except (TimeoutError, aiohttp.ClientError, OSError):
            self._close()
            return
        self._response = None
        response.release()

    def _close(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            response.close()
