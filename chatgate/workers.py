"""`chatgate serve --workers N`: N web processes over one store, and the dashboard in the supervising process.

The supervisor resolves the store first (REDIS_URL, else the embedded server, started once here), seeds the runtime
config, opens the web app's listening socket and starts the workers as fresh interpreters (`chatgate serve-worker
--fd N`, never a fork of a process with threads and locks) that inherit it: the kernel hands each new connection to
one of them. Workers are stateless: sessions, quotas, runtime config, stream settlement, bot updates
all go through the store, and background jobs run in whichever worker holds their lease (core.store.lease). The
supervisor serves the dashboard, restarts a worker that dies, and on SIGINT/SIGTERM stops the workers gracefully
(each finishes its open requests) before it stops the embedded store. With WORKER_CPU_AFFINITY=auto, worker i (and
the one that replaces it) is kept on the i-th CPU the supervisor may use, modulo their count.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

from chatgate.runtime import (
    StartupError,
    check_bindable,
    event_loop_factory,
    open_store,
    seed_runtime_config,
    serve_admin_until_stopped,
    serve_web_until_stopped,
)
from core.services import build_services
from core.settings import Settings
from core.store.embedded import EmbeddedStore

RESTART_PAUSE_SECONDS = 1.0  # a worker that dies at once is not restarted in a tight loop


def serve_with_workers(
    settings: Settings, host: str, port: int, admin_port: int, workers: int, only: str | None = None
) -> None:
    """Serve the web app from `workers` processes (and the dashboard from this one) until SIGINT/SIGTERM."""
    check_bindable(host, port)
    if only != "web":
        check_bindable(settings.ADMIN_HOST, admin_port)
    embedded, settings = _shared_store(settings)
    try:
        with asyncio.Runner(loop_factory=event_loop_factory(settings)) as runner:
            runner.run(_seed(settings))
        listener = _listen(host, port)
        try:
            with asyncio.Runner(loop_factory=event_loop_factory(settings)) as runner:
                runner.run(_supervise(settings, listener, host, port, admin_port, workers, only))
        finally:
            listener.close()
    finally:
        if embedded is not None:
            embedded.stop()


def _shared_store(settings: Settings) -> tuple[EmbeddedStore | None, Settings]:
    """Point every process at one store: REDIS_URL, else the embedded server (started here if not running)."""
    if settings.REDIS_URL:
        return None, settings
    embedded = EmbeddedStore(settings.DATA_DIR, settings.EMBEDDED_STORE_BINARY, settings.EMBEDDED_STORE_FSYNC)
    url = embedded.running_url()
    started = url is None
    if url is None:
        url = embedded.start()
    return (embedded if started else None), settings.model_copy(update={"REDIS_URL": url})


async def _seed(settings: Settings) -> None:
    async with open_store(settings) as handle:
        services = await build_services(settings, handle.store)
        try:
            await seed_runtime_config(services)
        finally:
            await services.close()


def _listen(host: str, port: int) -> socket.socket:
    try:
        listener = socket.create_server((host, port), backlog=2048, reuse_port=False)
    except OSError as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    listener.set_inheritable(True)
    return listener


def _start_worker(settings: Settings, listener: socket.socket, index: int) -> subprocess.Popen[bytes]:
    """Start web process number `index` on the shared socket, pointed at the supervisor's store."""
    env = {**os.environ, "REDIS_URL": settings.REDIS_URL}
    fd = listener.fileno()
    command = [sys.executable, "-m", "chatgate", "serve-worker", "--fd", str(fd)]
    if (cpu := worker_cpu(settings, index)) is not None:
        command += ["--cpu", str(cpu)]
    return subprocess.Popen(command, env=env, pass_fds=(fd,))


def worker_cpu(settings: Settings, index: int) -> int | None:
    """The CPU worker `index` is kept on (WORKER_CPU_AFFINITY=auto), None where it may run on any."""
    if settings.WORKER_CPU_AFFINITY != "auto" or not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[index % len(cpus)]


def run_worker(settings: Settings, fd: int, cpu: int | None = None) -> None:
    """The body of one worker process (`chatgate serve-worker`): its own event loop, store client and services, kept
    on `cpu` if given (set before any thread starts: every thread inherits it)."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    with asyncio.Runner(loop_factory=event_loop_factory(settings)) as runner:
        runner.run(serve_web_until_stopped(settings, fd))


async def _supervise(
    settings: Settings, listener: socket.socket, host: str, port: int, admin_port: int, workers: int,
    only: str | None,
) -> None:  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    processes = [_start_worker(settings, listener, index) for index in range(workers)]
    cpus = [worker_cpu(settings, index) for index in range(workers)]
    kept = f", kept on CPUs {','.join(map(str, cpus))}" if None not in cpus else ""
    print(f"ChatGate web app   http://{host}:{port} ({workers} worker processes{kept})", flush=True)
    tasks = [asyncio.ensure_future(_watch(settings, listener, processes, stop))]
    if only != "web":
        tasks.append(asyncio.ensure_future(serve_admin_until_stopped(settings, admin_port, stop)))
    try:
        await stop.wait()
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.to_thread(_stop_workers, processes)


async def _watch(
    settings: Settings, listener: socket.socket, processes: list[subprocess.Popen[bytes]], stop: asyncio.Event
) -> None:
    """Restart a worker that exits while the server runs."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.5)
        if stop.is_set():
            return
        for index, process in enumerate(processes):
            if process.poll() is not None:
                print(f"worker {process.pid} exited ({process.returncode}); starting another", flush=True)
                await asyncio.sleep(RESTART_PAUSE_SECONDS)
                processes[index] = _start_worker(settings, listener, index)


def _stop_workers(processes: list[subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # each finishes its open requests (hypercorn's graceful stop)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
