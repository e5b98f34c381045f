"""The quicker RESP packer sends exactly what redis-py's would, and refuses what it refuses."""

from __future__ import annotations

import random

import pytest
from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import DataError

from core.store.connection import Store
from core.store.packing import FastPacking, fast_packing


def connections() -> tuple[Connection, Connection]:
    fast = type("FastConnection", (FastPacking, Connection), {})
    return Connection(), fast()


def test_the_same_bytes_as_redis_py_for_every_kind_of_argument() -> None:
    plain, fast = connections()
    rng = random.Random(3)
    values: list[object] = [
        "", "a", "中文 键", "x" * 10_000, 0, -1, 7, 2**70, -(2**63), 1.5, -0.0, 1e300, b"", b"\x00\xff" * 4000,
        memoryview(b"view"), "\r\n$3", "tab\tand space",
    ]  # fmt: skip
    for _ in range(500):
        args = ["EVALSHA", *rng.sample(values, rng.randint(0, len(values)))]
        assert fast.pack_command(*args) == [b"".join(plain.pack_command(*args))]
    for head in ("CONFIG GET", b"CLIENT SETNAME"):
        assert fast.pack_command(head, "x") == [b"".join(plain.pack_command(head, "x"))]


def test_what_redis_py_refuses_is_refused() -> None:
    plain, fast = connections()
    for bad in (True, None, object(), ["list"]):
        with pytest.raises(DataError):
            plain.pack_command("SET", "k", bad)
        with pytest.raises(DataError):
            fast.pack_command("SET", "k", bad)


def test_every_store_client_packs_with_it(store: Store) -> None:
    pool = getattr(store.redis, "connection_pool", None)
    if pool is None:
        pytest.skip("a cluster client keeps a pool per node, with redis-py's own packer")
    assert issubclass(pool.connection_class, FastPacking)
    assert fast_packing(pool).connection_class is pool.connection_class  # idempotent: one class per base
    unix = type("P", (), {"connection_class": UnixDomainSocketConnection})()
    assert issubclass(fast_packing(unix).connection_class, UnixDomainSocketConnection)  # type: ignore[arg-type]
