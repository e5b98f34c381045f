"""The reason phrase in HTTP/1.1 status lines ("HTTP/1.1 429 Too Many Requests", not "HTTP/1.1 429 ").

Hypercorn hands h11 its responses without a reason, so h11 writes an empty one. HTTP allows that, but some clients
show or log the phrase, and a status line without one looks broken to them. Hypercorn has no setting for it, so its
HTTP/1.1 protocol module is given an h11 whose response events carry the standard phrase (http.HTTPStatus); nothing
else changes. `install_reason_phrases()` is idempotent; `chatgate serve` calls it before serving.
"""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Any

import h11
from hypercorn.protocol import h11 as hypercorn_h11

from chatgate.response_headers import response


@cache  # one per status code: a response's phrase is a dict lookup
def reason_phrase(status: int) -> bytes:
    """Return the standard reason phrase of a status code (empty for an unknown one)."""
    try:
        return HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""


class _PhrasedH11:
    """The h11 module as Hypercorn's HTTP/1.1 protocol sees it: the same, with phrased responses."""

    def __init__(self) -> None:
        for name in h11.__all__:  # plain attributes: read on every event, not through __getattr__
            if name not in ("Response", "InformationalResponse"):
                setattr(self, name, getattr(h11, name))

    def __getattr__(self, name: str) -> Any:
        return getattr(h11, name)

    @staticmethod
    def Response(**fields: Any) -> h11.Response:
        fields.setdefault("reason", reason_phrase(int(fields["status_code"])))
        if fields.keys() == {"headers", "status_code", "reason"} and isinstance(fields["reason"], bytes):
            return response(**fields)  # Hypercorn's way: each header checked once (chatgate.response_headers)
        return h11.Response(**fields)

    @staticmethod
    def InformationalResponse(**fields: Any) -> h11.InformationalResponse:
        fields.setdefault("reason", reason_phrase(int(fields["status_code"])))
        return h11.InformationalResponse(**fields)


def install_reason_phrases() -> None:
    """Make Hypercorn's HTTP/1.1 responses carry their reason phrase (once per process)."""
    if not isinstance(hypercorn_h11.h11, _PhrasedH11):
        hypercorn_h11.h11 = _PhrasedH11()  # type: ignore[assignment]
