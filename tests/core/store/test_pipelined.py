"""The auto-pipelining lane: calls made together share one write, every caller gets its own answer in order, and
a broken, refused or cancelled call reads as it does through redis-py."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, NoScriptError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError

from core.store.connection import STORE_ERRORS, Store, connect
from core.store.embedded import EmbeddedStore, find_server_binary
from core.store.pipelined import PipelinedLane, _Connection
from tests.conftest import CLUSTER

ECHO = "return {ARGV[1], tonumber(ARGV[2]) * 2}"
pytestmark = pytest.mark.skipif(CLUSTER, reason="a cluster keeps redis-py's path (commands go to their slot's node)")


def lane_of(store: Store) -> PipelinedLane:
    lane = store.scripts._lane
    assert lane is not None, "a single store reached over a unix socket or TCP gets a lane"
    return lane


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of commands in each write the lane makes."""
    sizes: list[int] = []
    flush = _Connection._flush

    def counted(self: _Connection) -> None:
        if self.outbox:
            sizes.append(len(self.outbox))
        flush(self)

    monkeypatch.setattr(_Connection, "_flush", counted)
    return sizes


async def test_calls_made_together_share_one_write_and_each_gets_its_own_answer(
    store: Store, writes: list[int]
) -> None:
    lane = lane_of(store)
    sha = await store.redis.script_load(ECHO)
    await lane.execute("PING")
    writes.clear()
    answers = await asyncio.gather(*(lane.execute("EVALSHA", sha, 0, f"caller {n}", n) for n in range(500)))
    assert answers == [[f"caller {n}", n * 2] for n in range(500)]
    assert writes == [500]  # one write for the whole burst (the store still runs each script on its own)


async def test_a_script_the_store_lost_is_loaded_and_run_once(store: Store) -> None:
    await store.redis.script_flush()
    with pytest.raises(NoScriptError):
        await lane_of(store).execute("EVALSHA", "0" * 40, 0)
    key = store.keys.code("login", "a@b.c")
    assert await store.scripts.run("verify_code", [key], ["x", 5]) == -1  # NOSCRIPT on the lane, then loaded
    assert await store.scripts.run("verify_code", [key], ["x", 5]) == -1
    with pytest.raises(ResponseError, match="wrong number of arguments"):
        await lane_of(store).execute("GET")


async def test_a_cancelled_call_leaves_the_others_in_step(store: Store) -> None:
    lane = lane_of(store)
    await lane.execute("SET", "k", "v")
    slow = asyncio.ensure_future(lane.execute("BLPOP", "never-filled", "0.2"))  # the store answers after 0.2 s
    quick = asyncio.ensure_future(lane.execute("GET", "k"))  # queued behind it on the same connection
    await asyncio.sleep(0.05)
    slow.cancel()
    assert await quick == "v"
    assert await lane.execute("ECHO", "after") == "after"


async def test_a_broken_connection_fails_its_calls_as_redis_py_does_and_the_next_call_reconnects(store: Store) -> None:
    lane = lane_of(store)
    client_id = await lane.execute("CLIENT", "ID")
    waiting = asyncio.ensure_future(lane.execute("BLPOP", "never-filled", "5"))
    await asyncio.sleep(0.05)
    await store.redis.client_kill_filter(_id=client_id)
    with pytest.raises(STORE_ERRORS):
        await waiting
    assert await lane.execute("ECHO", "back") == "back"
    assert await lane.execute("CLIENT", "ID") != client_id


async def test_an_unreachable_store_is_a_connection_error_quickly(tmp_path: Path) -> None:
    lane = PipelinedLane(path=str(tmp_path / "nothing.sock"), connect_timeout=2)
    started = time.monotonic()
    for _ in range(2):  # concurrent callers share the failed connect; the next call tries again
        results = await asyncio.gather(lane.execute("PING"), lane.execute("PING"), return_exceptions=True)
        assert all(isinstance(result, RedisConnectionError) for result in results)
    assert time.monotonic() - started < 1


async def test_a_store_restart_is_survived(own_store: EmbeddedStore) -> None:
    store = connect(own_store.url)
    try:
        assert await store.scripts.run("verify_code", [store.keys.code("login", "a@b.c")], ["x", 5]) == -1
        own_store.stop()
        with pytest.raises(STORE_ERRORS):
            await store.scripts.run("verify_code", [store.keys.code("login", "a@b.c")], ["x", 5])
        own_store.start()
        # The store came back without its scripts: NOSCRIPT on the lane, loaded by redis-py's path.
        assert await store.scripts.run("verify_code", [store.keys.code("login", "a@b.c")], ["x", 5]) == -1
    finally:
        await store.close()


@pytest.fixture
def tcp_store(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """A store server on a TCP port with a password (as a managed Redis would be)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    password = "pw-0123456789"
    server = subprocess.Popen(
        [find_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--requirepass", password,
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.02)
    yield port, password
    server.terminate()
    server.wait(10)


async def test_tcp_with_a_password_and_a_database(tcp_store: tuple[int, str]) -> None:
    port, password = tcp_store
    store = connect(f"redis://:{password}@127.0.0.1:{port}/3")
    plain = Redis(port=port, password=password, db=3, decode_responses=True)
    try:
        lane = lane_of(store)
        assert await lane.execute("SET", "where", "db 3") == "OK"
        assert await plain.get("where") == "db 3"  # SELECTed the URL's database after AUTH
        assert await store.scripts.run("verify_code", [store.keys.code("login", "a@b.c")], ["x", 5]) == -1
        wrong = PipelinedLane(port=port, password="wrong")
        with pytest.raises(AuthenticationError):
            await wrong.execute("PING")
        assert isinstance(AuthenticationError(), RedisConnectionError)  # a STORE_ERRORS, as through redis-py
    finally:
        await store.close()
        await plain.aclose()


def test_tls_and_cluster_keep_redis_py_s_path() -> None:
    assert connect("rediss://:x@127.0.0.1:6380/0").scripts._lane is None
    assert connect("redis://127.0.0.1:7000", cluster=True).scripts._lane is None
