"""OpenAI Chat Completions SSE: reading an upstream's stream without re-serialising it, and the few events we write.

Events are framed on blank lines and forwarded byte for byte; from each `data:` payload we read only the choices'
`delta.content` (the first answer's apart from the others' of an `n` > 1 call), `finish_reason`, `usage` and
`error` with msgspec, which checks every byte is JSON but builds objects only for those fields (the ids, models and
fingerprints of each chunk are skipped, not made into dicts). One network read becomes at most one
`RelayEvent`, so a burst of small chunks costs one hand-off to the caller, not one per chunk.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Literal, NamedTuple

import msgspec
import orjson

DONE = b"data: [DONE]\n\n"


class RelayEvent(NamedTuple):
    """Complete SSE events from one read: bytes to forward as-is and the few fields the caller needs (a named
    tuple: made once per read, so made cheaply)."""

    raw: bytes
    content: str = ""  # the first answer's text (choice index 0)
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    error: dict[str, Any] | None = None
    done: bool = False
    others: tuple[tuple[int, str], ...] = ()  # (choice index, text) of the other answers of an `n` > 1 call


class _Delta(msgspec.Struct, gc=False):
    content: str | None = None


class _Choice(msgspec.Struct, gc=False):
    index: Literal[0] | None = None  # another answer's (`n` > 1): `_parse_each`
    delta: _Delta | None = None
    finish_reason: Any = None


class _Chunk(msgspec.Struct, gc=False):
    """The fields of a chunk the usual batch reads (any other shape fails to decode: `_parse_each` reads it)."""

    choices: list[_Choice] | None = None
    usage: Any = None
    error: None = None  # an error event fails to decode: `_parse_each` reports it


_CHUNKS = msgspec.json.Decoder(list[_Chunk])
_ANY = msgspec.json.Decoder()


class StreamFault(Exception):
    """The upstream's stream cannot go on: malformed, an error event, broken or silent. Carries an OpenAI error."""

    def __init__(self, message: str, code: str, upstream_error: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.upstream_error = upstream_error


def error_event(message: str, code: str, kind: str = "server_error") -> bytes:
    """Return the OpenAI-style error event and the closing [DONE] that end a stream: the one builder of both.

    `kind` is OpenAI's error type: server_error for a broken upstream, invalid_request_error for an answer we
    stopped (moderation).
    """
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return b"data: " + orjson.dumps(body) + b"\n\n" + DONE


def with_usage_chunk(raw: bytes, model: str, prompt_tokens: int, completion_tokens: int) -> bytes:
    """Put an OpenAI usage chunk (our count) before the stream's closing [DONE]."""
    chunk = {
        "id": f"chatcmpl-{secrets.token_hex(12)}", "object": "chat.completion.chunk", "created": int(time.time()),
        "model": model, "choices": [],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }  # fmt: skip
    event = b"data: " + orjson.dumps(chunk) + b"\n\n"
    return raw[: -len(DONE)] + event + DONE if raw.endswith(DONE) else raw + event


class SSEParser:
    """Frame raw bytes into events and read the fields ChatGate needs; keeps a partial event between reads."""

    __slots__ = ("_buffer", "forward_usage")

    def __init__(self, forward_usage: bool = True) -> None:
        self._buffer = b""
        self.forward_usage = forward_usage

    @property
    def pending(self) -> bytes:
        """Return the bytes of an unfinished event."""
        return self._buffer

    def feed(self, chunk: bytes) -> RelayEvent | None:
        """Return the events completed by `chunk`, or None while an event is still partial.

        On a malformed line or an upstream error event, the returned event carries the good events before it,
        then our error event and [DONE], with `error` set.
        """
        data = self._buffer + chunk if self._buffer else chunk
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")  # CRLF framing is legal SSE; normalise so one splitter works
        end = data.rfind(b"\n\n") + 2
        if end < 2:
            self._buffer = data
            return None
        if end == len(data):  # the usual read: whole events (no copy)
            complete, self._buffer = data, b""
        else:
            complete, self._buffer = data[:end], data[end:]
        event = self._parse_plain(complete)
        return event if event is not None else self._parse_each(complete)

    def _parse_plain(self, complete: bytes) -> RelayEvent | None:
        """The usual batch in one decode: only one-line `data: {...}` events, each with at most one choice,
        the first answer's (an optional closing [DONE] last). None for anything else (comments, CRLF, several
        choices, errors, malformed JSON): `_parse_each` reads those event by event."""
        done = complete.endswith(DONE)
        body = complete[: -len(DONE)] if done else complete
        if not body.startswith(b"data: {"):
            return None
        inner = body[6:-2]
        payloads = inner.replace(b"\n\ndata: ", b",")
        if b"\n" in payloads:
            return None
        try:
            chunks = _CHUNKS.decode(b"[" + payloads + b"]")  # a [DONE] before the end is not JSON: fails here
        except msgspec.MsgspecError:
            return None
        if len(chunks) != (len(inner) - len(payloads)) // 7 + 1:  # each separator replaced took 7 bytes out
            return None  # a payload that is not one JSON object (`{},{}`)
        parts: list[str] = []
        append = parts.append
        finish: str | None = None
        usage_seen = False
        for chunk in chunks:
            choices = chunk.choices
            if choices:
                if len(choices) != 1:
                    return None
                first = choices[0]
                delta = first.delta
                if delta is not None:
                    content = delta.content
                    if content:
                        append(content)
                finish = first.finish_reason or finish
            if chunk.usage:
                usage_seen = True
        usage: dict[str, Any] | None = None
        dropped: list[int] = []
        if usage_seen:  # once per answer: the last usage, and the usage-only chunks the caller did not ask for
            for index, chunk in enumerate(chunks):
                if chunk.usage:
                    usage = chunk.usage
                    if not (self.forward_usage or chunk.choices):
                        dropped.append(index)
        text = "".join(parts)
        raw = complete
        if dropped == [len(chunks) - 1]:  # the usual place of the usage chunk: last (before [DONE])
            cut = body.rfind(b"\n\n", 0, len(body) - 2)
            raw = (body[: cut + 2] if cut >= 0 else b"") + (DONE if done else b"")
        elif dropped:
            events = body[:-2].split(b"\n\n")
            raw = _join([event for index, event in enumerate(events) if index not in dropped]) + (DONE if done else b"")
        return RelayEvent(raw, text, usage, finish, None, done)

    def _parse_each(self, complete: bytes) -> RelayEvent:
        parts: list[str] = []
        others: list[tuple[int, str]] = []
        usage: dict[str, Any] | None = None
        finish: str | None = None
        events = complete.split(b"\n\n")
        kept: list[bytes] = []
        unchanged = True  # while True, `complete` itself is forwarded (no copy)
        for index, event in enumerate(events):
            if not event:
                continue
            try:
                payload = _payload(event)
                if payload == b"[DONE]":
                    kept.append(event)
                    if any(events[index + 1 :]):  # bytes after [DONE] are never forwarded
                        unchanged = False
                    raw = complete if unchanged else _join(kept)
                    return RelayEvent(raw, "".join(parts), usage, finish, None, True, tuple(others) if others else ())
                keep = True
                if payload is not None:  # None: a comment (keep-alive) or a field-only event, forwarded
                    keep, usage, finish = self._read(payload, parts, usage, finish, others)
            except StreamFault as fault:
                raw = (_join(kept) if kept else b"") + error_event(fault.message, fault.code)
                error = fault.upstream_error or {"message": fault.message, "code": fault.code}
                return RelayEvent(raw, "".join(parts), usage, finish, error, True, tuple(others) if others else ())
            if keep:
                kept.append(event)
            else:
                unchanged = False
        raw = complete if unchanged else _join(kept)
        return RelayEvent(raw, "".join(parts), usage, finish, others=tuple(others) if others else ())

    def _read(
        self,
        payload: bytes,
        parts: list[str],
        usage: dict[str, Any] | None,
        finish: str | None,
        others: list[tuple[int, str]],
    ) -> tuple[bool, dict[str, Any] | None, str | None]:
        """Collect content/usage/finish from one chunk; say whether to forward it."""
        try:
            chunk = _ANY.decode(payload)
        except msgspec.MsgspecError:
            raise StreamFault("The upstream sent a malformed event.", "upstream_malformed") from None
        if type(chunk) is not dict:
            raise StreamFault("The upstream sent a malformed event.", "upstream_malformed")
        error = chunk.get("error")
        if error is not None:
            raise _upstream_error(error)
        try:
            choices = chunk.get("choices")
            if choices:
                first = choices[0]
                if len(choices) == 1 and not first.get("index"):  # the usual chunk: one choice, the first answer
                    delta = first.get("delta")
                    if delta:
                        content = delta.get("content")
                        if content:
                            parts.append(_text(content))
                    finish = first.get("finish_reason") or finish
                else:
                    finish = _read_choices(choices, parts, others) or finish
            chunk_usage = chunk.get("usage")
        except (AttributeError, IndexError, KeyError, TypeError):
            raise StreamFault("The upstream sent a malformed event.", "upstream_malformed") from None
        if chunk_usage:
            usage = chunk_usage
            # The usage-only chunk (choices [] or null) goes to the caller only if the caller asked for it.
            return self.forward_usage or bool(choices), usage, finish
        return True, usage, finish


def _read_choices(choices: list[Any], parts: list[str], others: list[tuple[int, str]]) -> str | None:
    """Collect the text of a chunk carrying several choices (or another than the first: `n` > 1); return a
    finish_reason if one choice has it."""
    finish = None
    for choice in choices:
        index = choice.get("index") or 0
        delta = choice.get("delta")
        content = delta.get("content") if delta else None
        if content:
            content = _text(content)
            if index == 0:
                parts.append(content)
            else:
                others.append((index, content))
        finish = choice.get("finish_reason") or finish
    return finish


def _text(content: Any) -> str:
    """A delta's content, which must be a string."""
    if type(content) is not str:
        raise StreamFault("The upstream sent a malformed event.", "upstream_malformed")
    return content


def _join(events: list[bytes]) -> bytes:
    return b"\n\n".join(events) + b"\n\n" if events else b""


def _payload(event: bytes) -> bytes | None:
    """Return the data of one event (None for a comment or a data-less event); StreamFault if malformed."""
    if event.startswith(b"data: ") and b"\n" not in event:
        return event[6:]
    data: list[bytes] = []
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            data.append(line[6:] if line.startswith(b"data: ") else line[5:])
        elif not line.startswith((b":", b"event:", b"id:", b"retry:")):
            raise StreamFault("The upstream sent a malformed event line.", "upstream_malformed")
    return b"\n".join(data) if data else None


def _upstream_error(error: Any) -> StreamFault:
    """Turn a mid-stream `{"error": ...}` into a fault that keeps the upstream's message and code."""
    if not isinstance(error, dict):
        return StreamFault(str(error) or "The upstream reported an error.", "upstream_error")
    message = str(error.get("message") or "The upstream reported an error.")
    code = str(error.get("code") or error.get("type") or "upstream_error")
    return StreamFault(message, code, upstream_error=error)
