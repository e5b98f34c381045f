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

from chatgate import response_headers
from chatgate.response_headers import _DateCache, install_response_headers, response, set_comma_header
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


ODD_NAMES = [b"Content-Length", b"transfer-encoding", b"bad name", b""]
RAW_NAME = st.one_of(TOKEN.map(str.encode), st.sampled_from(ODD_NAMES))
RAW_VALUE = st.one_of(VALUE.map(str.encode), st.sampled_from([b"5", b"6", b"chunked", b"gzip", b"a\r\nb", b" x"]))


def made(make: object, headers: list[tuple[bytes, bytes]], status: int) -> object:
    try:
        event = make(headers=headers, status_code=status, reason=b"OK")  # type: ignore[operator]
    except h11.LocalProtocolError:
        return "refused"
    return (event.headers._full_items, event.status_code, event.reason, event.http_version)


@given(st.lists(st.tuples(RAW_NAME, RAW_VALUE), max_size=8), st.sampled_from([200, 204, 404, 999, 1000, 99]),
       st.booleans())  # fmt: skip
def test_a_response_is_made_as_h11_makes_it_whether_its_headers_were_checked_before_or_not(
    headers: list[tuple[bytes, bytes]], status: int, forget: bool
) -> None:
    if forget:
        response_headers._checked.clear()
    assert made(response, headers, status) == made(h11.Response, headers, status)
    assert made(response, headers, status) == made(h11.Response, headers, status)  # now from memory


def test_the_memory_of_checked_headers_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(response_headers, "CHECKED_KEPT", 3)
    response_headers._checked.clear()
    for number in range(10):
        response([(b"x-request-id", b"req_%d" % number)], 200, b"OK")
        assert len(response_headers._checked) <= 3
    with pytest.raises(h11.LocalProtocolError, match="Illegal header value"):
        response([(b"x-request-id", b"req_1\r\nx: y")], 200, b"OK")
    listed = response([[b"x-list", b"1"]], 200, b"OK")  # type: ignore[list-item]  # a list pair: h11's own way
    assert listed.headers._full_items == [(b"x-list", b"x-list", b"1")]


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
