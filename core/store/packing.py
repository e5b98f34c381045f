"""A quicker RESP command packer for redis-py's asyncio connections (the same bytes, one join per command).

redis-py packs each argument through its Encoder and grows the command one concatenation at a time; a script call
with a few dozen keys and arguments (the /v1 hot path's two) spends tens of microseconds there. `fast_packing`
gives a pool's connection class a `pack_command` that encodes the common types (str, int, bytes) inline and joins
once; anything else (floats, memoryviews, wrong types: bool and None raise DataError) goes through redis-py's own
Encoder, so the accepted values and their bytes are redis-py's. tests/core/store/test_packing.py compares the two.
`pack_command` is the packer itself, also used by the pipelined lane (core.store.pipelined).
"""

from __future__ import annotations

from typing import Any

from redis._parsers.encoders import Encoder
from redis.asyncio.connection import AbstractConnection, ConnectionPool


def pack_command(args: tuple[Any, ...], encoder: Encoder) -> bytes:
    """Return the RESP bytes of one command (redis-py's bytes for the same arguments; `encoder` for the rest)."""
    head = args[0]
    if isinstance(head, str):  # "CONFIG GET": literal words of a command name travel as separate arguments
        args = (*head.encode().split(), *args[1:])
    elif b" " in head:
        args = (*head.split(), *args[1:])
    plain_utf8 = encoder.encoding == "utf-8" and encoder.encoding_errors == "strict"
    pieces = [b"*%d\r\n" % len(args)]
    append = pieces.append
    for arg in args:
        kind = type(arg)
        if kind is bytes:
            value = arg
        elif kind is str and plain_utf8:
            value = arg.encode()
        elif kind is int:
            value = b"%d" % arg
        else:
            value = encoder.encode(arg)
        append(b"$%d\r\n" % len(value))
        append(value)
        append(b"\r\n")
    return b"".join(pieces)


class FastPacking:
    """Mixed in before a redis-py connection class."""

    def pack_command(self, *args: Any) -> list[bytes]:
        return [pack_command(args, self.encoder)]  # type: ignore[attr-defined]


_FAST: dict[type[AbstractConnection], type[AbstractConnection]] = {}


def fast_packing(pool: ConnectionPool) -> ConnectionPool:
    """Give `pool`'s connections the quicker packer (before it has made any)."""
    base = pool.connection_class
    if issubclass(base, FastPacking):
        return pool
    fast = _FAST.get(base)
    if fast is None:
        fast = _FAST[base] = type(f"Fast{base.__name__}", (FastPacking, base), {})
    pool.connection_class = fast
    return pool
