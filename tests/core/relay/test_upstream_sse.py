"""The SSE framer: byte forwarding, events split across reads, CRLF, comments, usage, errors."""

from __future__ import annotations

import orjson

from core.relay.upstream_sse import DONE, SSEParser


def chunk(content: str | None = None, finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
    choices = (
        [] if usage and content is None else [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]
    )
    return b"data: " + orjson.dumps({"object": "chat.completion.chunk", "choices": choices, "usage": usage}) + b"\n\n"


def test_complete_events_are_forwarded_unchanged() -> None:
    data = chunk("Hel") + chunk("lo") + chunk(finish="stop")
    event = SSEParser().feed(data)
    assert event is not None and event.raw is data  # no copy, no re-serialisation
    assert (event.content, event.finish_reason, event.done, event.error) == ("Hello", "stop", False, None)


def test_an_event_split_across_reads_waits_for_its_end() -> None:
    parser = SSEParser()
    data = chunk("one") + chunk("two")
    cut = len(chunk("one")) + 10
    first = parser.feed(data[:cut])
    assert first is not None and first.content == "one" and parser.pending == data[len(chunk("one")) : cut]
    assert parser.feed(data[cut:-1]) is None
    second = parser.feed(data[-1:])
    assert second is not None and second.content == "two"
    assert first.raw + second.raw == data


def test_crlf_framing_and_comments() -> None:
    parser = SSEParser()
    data = b": keep-alive\r\n\r\n" + chunk("hi").replace(b"\n", b"\r\n")
    event = parser.feed(data[:-1])
    assert event is not None and event.raw == b": keep-alive\n\n" and event.content == ""
    event = parser.feed(data[-1:])
    assert event is not None and event.content == "hi"


def test_done_stops_and_drops_what_follows() -> None:
    event = SSEParser().feed(chunk("a") + DONE + chunk("ignored"))
    assert event is not None and event.done and event.content == "a"
    assert event.raw == chunk("a") + DONE


def test_usage_chunk_is_read_and_dropped_when_not_asked_for() -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    data = chunk("x", "stop") + chunk(usage=usage) + DONE
    kept = SSEParser(forward_usage=True).feed(data)
    dropped = SSEParser(forward_usage=False).feed(data)
    assert kept is not None and dropped is not None
    assert kept.usage == dropped.usage == usage
    assert kept.raw == data and dropped.raw == chunk("x", "stop") + DONE


def test_malformed_and_error_events_end_the_stream() -> None:
    bad = SSEParser().feed(chunk("ok") + b"data: {not json\n\n" + chunk("never"))
    assert bad is not None and bad.done and bad.content == "ok"
    assert bad.error == {"message": "The upstream sent a malformed event.", "code": "upstream_malformed"}
    assert bad.raw.startswith(chunk("ok") + b'data: {"error":') and bad.raw.endswith(DONE)
    upstream_error = {"message": "overloaded", "type": "server_error", "code": "overloaded"}
    err = SSEParser().feed(b"data: " + orjson.dumps({"error": upstream_error}) + b"\n\n")
    assert err is not None and err.error == upstream_error
    sent = orjson.loads(err.raw.split(b"\n\n")[0][6:])
    assert sent == {"error": {"message": "overloaded", "type": "server_error", "param": None, "code": "overloaded"}}


def test_wrong_shapes_are_malformed_not_crashes() -> None:
    for payload in (b"[1, 2]", b'{"choices": [1]}', b'{"choices": [{"delta": "x"}]}'):
        event = SSEParser().feed(b"data: " + payload + b"\n\n")
        assert event is not None and event.error is not None and event.error["code"] == "upstream_malformed"
