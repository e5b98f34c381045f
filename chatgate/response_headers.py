"""Response headers at less cost: each header checked once, and Hypercorn's Date header formatted once a second.

h11 checks every header of a response against the HTTP grammar (two regexes each) when the response is made, and
again each time it sets one of its framing headers (`set_comma_header`): a chunked response sets two, so each of a
streamed /v1 answer's dozen headers went through the regexes three times. Here `set_comma_header` checks the values
it adds, as before, and takes the headers it keeps as they are: they come from an h11 `Headers`, which only h11's
own `normalize_and_validate` makes, so they were checked when it was made. And `response()` (what Hypercorn's
responses are made with: chatgate.http_status) checks a header only if the same name and value were not checked
before (most are the same on every response: content type, rate limits, security headers). The bytes written and
the errors raised are the same (tests/test_response_headers.py compares them with h11's on generated headers).

Hypercorn formats the Date header for every response (`format_date_time(time())`); the text changes once a second,
so it is formatted once a second (the same text: the second's floor, as `time.gmtime` takes it).

`install_response_headers()` is idempotent; `chatgate serve` calls it before serving.
"""

from __future__ import annotations

from wsgiref.handlers import format_date_time

import h11
import h11._connection as h11_connection
import h11._headers as h11_headers
from hypercorn import config as hypercorn_config


def set_comma_header(headers: h11_headers.Headers, name: bytes, new_values: list[bytes]) -> h11_headers.Headers:
    """h11's `set_comma_header`, checking only the values it adds (what it keeps was checked already)."""
    added = h11_headers.normalize_and_validate([(name.title(), value) for value in new_values])
    kept = [(raw_name, value) for raw_name, found, value in headers._full_items if found != name]
    kept += [(raw_name, value) for raw_name, _, value in added._full_items]
    return h11_headers.normalize_and_validate(kept, _parsed=True)


CHECKED_KEPT = 4096  # header pairs remembered as checked; forgotten all at once past this (request ids vary)
_checked: dict[object, None] = {}


def response(headers: list[tuple[bytes, bytes]], status_code: int, reason: bytes) -> h11.Response:
    """`h11.Response(headers=..., status_code=..., reason=...)`, checking only the header pairs not checked before."""
    for pair in headers:
        try:
            if pair in _checked:
                continue
        except TypeError:  # not a tuple (a list): h11's own way
            return h11.Response(headers=headers, status_code=status_code, reason=reason)
        if type(pair) is not tuple or len(pair) != 2 or type(pair[0]) is not bytes or type(pair[1]) is not bytes:
            return h11.Response(headers=headers, status_code=status_code, reason=reason)
        h11_headers.normalize_and_validate([pair])  # h11's check, and its error
        if len(_checked) >= CHECKED_KEPT:
            _checked.clear()
        _checked[pair] = None
    return h11.Response(headers=headers, status_code=int(status_code), reason=bytes(reason), _parsed=True)


class _DateCache:
    """The Date header's text for the current second, formatted when the second changes."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def __call__(self, timestamp: float) -> str:
        second = int(timestamp)
        if second != self._second:
            self._text = format_date_time(second)
            self._second = second
        return self._text


def install_response_headers() -> None:
    """Give h11 the single-check `set_comma_header` and Hypercorn the once-a-second Date (once per process)."""
    if h11_connection.set_comma_header is not set_comma_header:
        h11_connection.set_comma_header = set_comma_header
    if not isinstance(hypercorn_config.format_date_time, _DateCache):
        hypercorn_config.format_date_time = _DateCache()  # type: ignore[assignment]
