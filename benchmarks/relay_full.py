"""Start the full ChatGate web app as the relay under test: /v1 with an API key, quota, usage and keyword moderation.

Used by `relay_bench.py --full`: `chatgate serve --only web` pinned to the relay CPU, on its own store, seeded with
the fake upstream (OPENAI_ENDPOINT), one user with an API key, a free plan whose limit for the model (the plans' cap,
1,000,000 a minute) never binds, and a keyword list so that moderation really scans every message and the output.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from core.accounts.api_keys import create_api_key
from core.accounts.registration import register_user
from core.billing.plans import MAX_LIMIT, Limit, Plan, save_plan
from core.moderation.keywords import set_words
from core.settings import Settings
from core.store.connection import connect
from core.store.embedded import EmbeddedStore

ROOT = Path(__file__).resolve().parent.parent
BLOCKED_WORDS = ["forbidden-bench-word", "另一个禁词", "never-in-the-answer"]


def serve_env(store_url: str, fake_url: str, data_dir: Path, port: int, model: str) -> dict[str, str]:
    """Return the environment of the server under test (production mode, real secrets, keyword moderation)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "TEXT_SECURITY"))}
    env.update(
        CHATGATE_ENV="prod",
        REDIS_URL=store_url,
        DATA_DIR=str(data_dir),
        JWT_SECRET=secrets.token_urlsafe(48),
        OPENAI_ENDPOINT=fake_url,
        OPENAI_API_KEY="sk-bench",
        OPENAI_MODELS=model,
        TEXT_SECURITY="keywords",
        PORT=str(port),
        LOG_LEVEL="WARNING",
        MAX_STREAMS_PER_USER="0",  # one benchmark user runs up to 1,000 streams at once: measured, not limited
    )
    return env


async def prepare_account(store_url: str, data_dir: Path, model: str, users: int = 1) -> list[str]:
    """Create the benchmark users, an API key each, a non-binding plan and the keyword list; return the keys."""
    store = connect(store_url)
    settings = Settings(_env_file=None, CHATGATE_ENV="dev", DATA_DIR=data_dir, REDIS_URL=store_url)  # type: ignore[call-arg]
    keys = []
    try:
        for index in range(users):
            email = "bench@example.com" if index == 0 else f"bench{index}@example.com"
            user = await register_user(
                store, settings, None, email=email, password="bench password 123", now=time.time()
            )
            keys.append((await create_api_key(store, user.id, "bench", time.time()))[1])
        # The plans' cap (MAX_LIMIT, 1,000,000) per minute: ~16,700 requests/s, far above what one process serves.
        await save_plan(store, Plan(name="free", title="Free", limits={model: Limit(MAX_LIMIT, "1m")}))
        await set_words(store, BLOCKED_WORDS)
    finally:
        await store.close()
    return keys


def start_full_app(
    workdir: Path, fake_url: str, model: str, relay_cpu: int, store_cpu: int, port: int
) -> tuple[subprocess.Popen[bytes], EmbeddedStore, str]:
    """Start a store and `chatgate serve --only web`; return the server process, the store and the API key."""
    server, store, keys = start_app(workdir, fake_url, model, relay_cpu, store_cpu, port)
    return server, store, keys[0]


def start_app(
    workdir: Path,
    fake_url: str,
    model: str,
    relay_cpu: int,
    store_cpu: int,
    port: int,
    users: int = 1,
    root: Path = ROOT,
    profile: str = "",
) -> tuple[subprocess.Popen[bytes], EmbeddedStore, list[str]]:
    """Start a store and `chatgate serve --only web` from the tree `root`, with `users` users; return the server
    process, the store and an API key per user. `profile`: run the server under cProfile, stats written there when
    it exits."""
    store = start_store(workdir, store_cpu)
    data_dir = workdir / "data"
    try:
        keys = asyncio.run(prepare_account(store.url, data_dir, model, users))
    except BaseException:
        store.stop()
        raise
    server = start_server(store.url, fake_url, data_dir, model, port, str(relay_cpu), root=root, profile=profile)
    return server, store, keys


def start_store(workdir: Path, cpu: int) -> EmbeddedStore:
    """Start an embedded store of its own for the run, pinned to `cpu`."""
    store = EmbeddedStore(workdir / "store-data")
    store.start()
    assert store.process is not None
    os.sched_setaffinity(store.process.pid, {cpu})
    return store


def start_server(
    store_url: str, fake_url: str, data_dir: Path, model: str, port: int, cpus: str, *, root: Path = ROOT,
    profile: str = "", serve_args: tuple[str, ...] = (),
) -> subprocess.Popen[bytes]:  # fmt: skip
    """Start `chatgate serve --only web` (plus `serve_args`, e.g. --workers 2) from the tree `root` on the CPUs
    `cpus` (a taskset list: its worker processes inherit it)."""
    profiler = ["-m", "cProfile", "-o", profile] if profile else []
    command = [sys.executable, *profiler, "-m", "chatgate", "serve", "--only", "web", "--port", str(port), *serve_args]
    return subprocess.Popen(
        ["taskset", "-c", cpus, *command],
        cwd=root,  # `python -m chatgate` imports the tree it runs in: another checkout can be measured alike
        env=serve_env(store_url, fake_url, data_dir, port, model),
        stdout=subprocess.DEVNULL,
    )
