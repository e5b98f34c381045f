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
    for payload in (
        b"[1, 2]", b'{"choices": [1]}', b'{"choices": [{"delta": "x"}]}', b'{"choices": [{"delta": {"content": 5}}]}',
        b'{"choices": [{"index": 1, "delta": {"content": ["x"]}}]}', b'{"choices": {"a": 1}}', b'{"choices": "ab"}',
    ):  # fmt: skip
        event = SSEParser().feed(b"data: " + payload + b"\n\n")
        assert event is not None and event.error is not None and event.error["code"] == "upstream_malformed"


EVENTS = [
    chunk("Hel"),
    chunk(""),
    chunk(None),
    chunk('中文 \\n " ok'),
    chunk(finish="stop"),
    chunk("x", "length"),
    chunk(usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}),
    b'data: {"choices":[{"index":1,"delta":{"content":"other"}}]}\n\n',
    b'data: {"choices":[{"delta":{"content":"a"}},{"index":1,"delta":{"content":"b"}}]}\n\n',
    b'data: {"choices":[{"delta":"x"}]}\n\n',
    b'data: {"error":{"message":"no"}}\n\n',
    b"data: {bad\n\n",
    b"data: 1,2\n\n",
    b": ping\n\n",
    b"event: x\ndata: {}\n\n",
    b"data:{}\n\n",
    b"data: [DONE]\n\n",
    b'data: {"choices":[],"usage":null}\n\n',
    b"\n\n",
    b'data: {"choices":[{"delta":{"content":"[DONE]"}}]}\n\n',
    b'data: {"choices":[{"delta":{"content":7}}]}\n\n',
    b'data: {"choices":[{"finish_reason":"stop"}]}\n\n',
    b"data: []\n\n",
    b'data: {"choices":{"a":1}}\n\n',
    b'data: {"choices":[{"index":0,"delta":{"content":"i0"}}],"error":null}\n\n',
    b'data: {"choices":[{"index":null,"delta":{"content":"n"}}]}\n\n',
    b'data: {"choices":[{"index":"0","delta":{"content":"s"}}]}\n\n',
    b'data: {"error":{},"choices":[]}\n\n',
]


def test_the_one_call_reading_of_plain_batches_agrees_with_reading_each_event() -> None:
    """Every batch of up to four of the events above (in any order, with and without a closing [DONE]) reads the
    same through the fast path (when it takes it) as through the event-by-event one."""
    import itertools

    taken = 0
    for size in range(1, 4):
        for batch in itertools.product(EVENTS, repeat=size):
            for tail in (b"", DONE):
                data = b"".join(batch) + tail
                for forward in (True, False):
                    parser = SSEParser(forward_usage=forward)
                    plain = parser._parse_plain(data)
                    if plain is not None:
                        taken += 1
                        assert plain == parser._parse_each(data), data
    assert taken > 500  # the fast path is really taken
