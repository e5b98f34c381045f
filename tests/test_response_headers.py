"""h11's framing headers set with one check per header, and the Date formatted once a second: the same bytes."""

from __future__ import annotations

import asyncio
import time
from wsgiref.handlers import format_date_time

import h11
import h11._headers as h11_headers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatgate.response_headers import _DateCache, install_response_headers, set_comma_header
from tests.chat_support import serve_app

ORIGINAL = h11_headers.set_comma_header

TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!#$%&'*+^`|~", min_size=1,
                max_size=12)  # fmt: skip
VALUE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20).map(str.strip)
FRAMING = st.sampled_from([b"content-length", b"transfer-encoding", b"connection", b"x-other"])
NEW_VALUE = st.one_of(
    st.sampled_from([b"chunked", b"close", b"keep-alive", b"12", b"gzip", b"", b"bad\nvalue", b" padded", b"1, 2"]),
    st.binary(max_size=8),
)


def outcome(setter: object, headers: h11_headers.Headers, name: bytes, values: list[bytes]) -> object:
    try:
        return setter(headers, name, values)._full_items  # type: ignore[operator]
    except h11.LocalProtocolError as error:
        return ("error", str(error), error.error_status_hint)


@given(
    st.lists(st.tuples(TOKEN, VALUE), max_size=12),
    st.sampled_from([None, "5", "chunked"]),
    FRAMING,
    st.lists(NEW_VALUE, max_size=3),
)
def test_setting_a_framing_header_gives_what_h11_gives(
    fields: list[tuple[str, str]], framing: str | None, name: bytes, values: list[bytes]
) -> None:
    if framing is not None:
        fields = [*fields, ("Content-Length" if framing.isdigit() else "Transfer-Encoding", framing)]
    headers = h11_headers.normalize_and_validate(fields)
    assert outcome(set_comma_header, headers, name, values) == outcome(ORIGINAL, headers, name, values)


def test_a_bad_value_added_is_still_refused() -> None:
    headers = h11_headers.normalize_and_validate([("Content-Type", "text/plain")])
    with pytest.raises(h11.LocalProtocolError, match="Illegal header value"):
        set_comma_header(headers, b"connection", [b"close\r\nx-injected: 1"])
    with pytest.raises(h11.LocalProtocolError, match="Only Transfer-Encoding: chunked"):
        set_comma_header(headers, b"transfer-encoding", [b"gzip"])


def test_the_date_text_is_the_seconds_and_changes_with_it() -> None:
    cache = _DateCache()
    moment = 1_764_700_000.25
    assert cache(moment) == format_date_time(moment) == "Tue, 02 Dec 2025 18:26:40 GMT"
    assert cache(moment + 0.7) == format_date_time(moment + 0.7)  # the same second
    assert cache(moment + 0.75) == format_date_time(moment + 0.75) == "Tue, 02 Dec 2025 18:26:41 GMT"
    now = time.time()
    assert cache(now) == format_date_time(now)


async def test_a_served_streamed_response_is_written_as_h11_writes_it() -> None:
    install_response_headers()
    install_response_headers()  # idempotent

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-type", b"text/event-stream"), (b"x-ratelimit-remaining-requests", b"9")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": False})  # type: ignore[operator]

    async with serve_app(app) as url:  # type: ignore[arg-type]
        host, port = url.removeprefix("http://").rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        body = await reader.readuntil(b"0\r\n\r\n")
        writer.close()
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    assert "content-type: text/event-stream" in lines and "x-ratelimit-remaining-requests: 9" in lines
    assert "Transfer-Encoding: chunked" in lines
    date = next(line for line in lines if line.startswith("date: "))
    assert abs(time.mktime(time.strptime(date[6:], "%a, %d %b %Y %H:%M:%S GMT")) - time.mktime(time.gmtime())) <= 2
    assert body == b"9\r\ndata: 1\n\n\r\n0\r\n\r\n"
