"""`chatgate serve --workers 2`: two web processes over one embedded store, exact quotas across them, restarts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from chatgate.workers import worker_cpu
from core.settings import Settings
from core.store.config_cache import CONFIG_CACHE_SECONDS
from tests.test_cli import _cli, _env, _free_port

MODEL = "gpt-4o-mini"
PASSWORD = "correct horse battery"
CPUS = sorted(os.sched_getaffinity(0))
EXPECTED_CPUS = sorted(CPUS[index % len(CPUS)] for index in range(2))  # two workers, WORKER_CPU_AFFINITY=auto


@contextmanager
def _upstream() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_upstream", "--port", str(port), "--chunks", "4"],
        cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait(lambda: httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code < 500)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def _wait(check: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail("nothing answered in time")


def _upstream_env(upstream: str) -> dict[str, str]:
    # 200 concurrent calls of one user: the per-user stream limit (MAX_STREAMS_PER_USER) is not what is measured here
    return {
        "OPENAI_ENDPOINT": upstream,
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_MODELS": MODEL,
        "MAX_STREAMS_PER_USER": "0",
        "WORKER_CPU_AFFINITY": "auto",
    }


@contextmanager
def _workers(data_dir: Path, upstream: str, count: int) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port, admin_port = _free_port(), _free_port()
    env = {**_env(data_dir), **_upstream_env(upstream)}
    command = ["serve", "--workers", str(count), "--port", str(port), "--admin-port", str(admin_port)]
    process = subprocess.Popen(
        [sys.executable, "-m", "chatgate", *command], cwd=data_dir.parent, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{base}/readyz", timeout=1).status_code == 200)
        _wait(lambda: httpx.get(f"http://127.0.0.1:{admin_port}/healthz", timeout=1).status_code == 200)
        yield base, process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)


def _api_key(base: str) -> str:
    with httpx.Client(base_url=base, timeout=10) as client:
        signed_up = client.post("/api/auth/register", json={"email": "w@example.com", "password": PASSWORD})
        assert signed_up.status_code == 201, signed_up.text
        csrf = client.get("/api/me").json()["csrf_token"]
        created = client.post("/api/keys", json={"name": "load"}, headers={"X-CSRF-Token": csrf})
        assert created.status_code == 201, created.text
        return str(created.json()["key"])


async def _pids(base: str, rounds: int = 5) -> set[int]:
    """The pids that answered /healthz over fresh connections (concurrently, so every worker gets some)."""
    seen: set[int] = set()
    for _ in range(rounds):

        async def one() -> int:
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                return int((await client.get("/healthz")).json()["pid"])

        seen |= set(await asyncio.gather(*(one() for _ in range(40))))
        if len(seen) > 1:
            break
    return seen


async def _chat_statuses(base: str, key: str, count: int) -> list[int]:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "stream": True}
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def one() -> int:
            response = await client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"})
            return response.status_code

        return list(await asyncio.gather(*(one() for _ in range(count))))


def test_worker_cpu_is_the_ith_cpu_with_auto_and_none_by_default() -> None:
    assert [worker_cpu(Settings(_env_file=None), index) for index in range(3)] == [None] * 3  # type: ignore[call-arg]
    auto = Settings(_env_file=None, WORKER_CPU_AFFINITY="auto")  # type: ignore[call-arg]
    assert [worker_cpu(auto, index) for index in range(len(CPUS) + 1)] == [*CPUS, CPUS[0]]


def test_two_workers_share_one_store_with_exact_quotas_and_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with _upstream() as upstream:
        _plans(data_dir, upstream, limit=10)  # the first command seeds the models from the environment
        _serve_and_check(data_dir, upstream)


def _plans(data_dir: Path, upstream: str, limit: int) -> None:
    plans = data_dir.parent / "plans.json"
    plans.write_text(json.dumps([{"name": "free", "title": "Free", "prices": {},
                                  "limits": {MODEL: {"limit": limit, "window": "3h"}}}]))  # fmt: skip
    imported = _cli(data_dir, "plans", "import", str(plans), extra_env=_upstream_env(upstream))
    assert imported.returncode == 0, imported.stderr


def _serve_and_check(data_dir: Path, upstream: str) -> None:
    with _workers(data_dir, upstream, 2) as (base, process):
        pids = asyncio.run(_pids(base))
        assert len(pids) == 2, pids  # both processes serve the one socket
        assert _kept_on(pids) == EXPECTED_CPUS  # WORKER_CPU_AFFINITY=auto: worker i on the i-th CPU
        key = _api_key(base)  # signed up through one worker, the session and key hold in the other
        statuses = asyncio.run(_chat_statuses(base, key, 200))
        assert statuses.count(200) == 10 and statuses.count(429) == 190  # one quota across processes
        victim = next(iter(pids))
        os.kill(victim, signal.SIGKILL)  # a worker dies: the supervisor starts another
        _wait(lambda: victim not in asyncio.run(_pids(base, rounds=1)) and len(asyncio.run(_pids(base))) == 2)
        assert _kept_on(asyncio.run(_pids(base))) == EXPECTED_CPUS  # the new worker took the dead one's CPU
        assert asyncio.run(_chat_statuses(base, key, 5)) == [429] * 5  # the quota survived the worker
        _sessions_hold_across_workers(base)
        _plans(data_dir, upstream, limit=20)  # a runtime config change, made by another process (the CLI)
        _wait(lambda: asyncio.run(_chat_statuses(base, key, 1)) == [200], seconds=10)  # one worker saw it
        time.sleep(CONFIG_CACHE_SECONDS + 0.5)  # every worker has read it again by now
        statuses = asyncio.run(_chat_statuses(base, key, 30))
        assert statuses.count(200) == 9 and statuses.count(429) == 21  # 20 in all, whichever worker answered
    output = process.stdout.read() if process.stdout else ""
    assert f"2 worker processes, kept on CPUs {','.join(map(str, EXPECTED_CPUS))}" in output
    assert "starting another" in output


def _kept_on(pids: set[int]) -> list[int]:
    """The CPU each worker may run on (each must be kept on one), in CPU order."""
    kept = []
    for pid in pids:
        allowed = os.sched_getaffinity(pid)
        assert len(allowed) == 1, (pid, allowed)
        kept += allowed
    return sorted(kept)


def _sessions_hold_across_workers(base: str) -> None:
    """Two sessions of one account; "sign out everywhere else" in one ends the other in every worker at once."""
    with httpx.Client(base_url=base, timeout=10) as kept, httpx.Client(base_url=base, timeout=10) as ended:
        for client in (ended, kept):
            signed_in = client.post("/api/auth/login", json={"email": "w@example.com", "password": PASSWORD})
            assert signed_in.status_code == 200, signed_in.text
        assert asyncio.run(_me_statuses(base, dict(ended.cookies), 40)) == [200] * 40
        csrf = kept.get("/api/me").json()["csrf_token"]
        revoked = kept.post("/api/sessions/revoke-others", headers={"X-CSRF-Token": csrf})
        assert revoked.status_code == 200, revoked.text
        assert asyncio.run(_me_statuses(base, dict(ended.cookies), 40)) == [401] * 40
        assert asyncio.run(_me_statuses(base, dict(kept.cookies), 40)) == [200] * 40


async def _me_statuses(base: str, cookies: dict[str, str], count: int) -> list[int]:
    """GET /api/me with these cookies over `count` fresh connections at once (so every worker answers some)."""

    async def one() -> int:
        async with httpx.AsyncClient(base_url=base, timeout=10, cookies=cookies) as client:
            return (await client.get("/api/me")).status_code

    return list(await asyncio.gather(*(one() for _ in range(count))))
