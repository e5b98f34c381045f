"""Throughput with 1 vs N web processes (issue 16, item 6): `chatgate serve --only web --workers N` on one store.

Usage (see benchmarks/README.md):
    .venv/bin/python benchmarks/workers_scale.py                 # N = 1 and 2, c = 256, 3 alternating rounds
    .venv/bin/python benchmarks/workers_scale.py --quick         # a 30 s smoke run
Starts an upstream and a store of its own (one user with an API key, a non-binding plan, keyword moderation: the full
/v1 path, as benchmarks/relay_overhead.py), then, each round, `chatgate serve --workers N` for each N in turn, with
its processes allowed on --worker-cpus (default `scale`: the first N CPUs for N workers, so that N workers are given N
cores, one of them shared with the load; or a taskset list for every N; with --affinity auto, the default, each worker
kept on one of them: WORKER_CPU_AFFINITY), and keeps --concurrency /v1 calls in flight. The load generator (this
process), the upstream and the store are pinned to --load-cpu, so they take a share of that CPU from the workers: the
report says how much (their "cores busy"), and the workers' own CPU is measured (supervisor + workers, user + system
time from /proc). By default the load generator and the upstream are benchmarks/lean_http.py's (bare asyncio
protocols, in one process, ~0.2 ms of CPU per call where the aiohttp pair took ~0.5 ms, as much as a worker: on a
2-CPU machine it left the second worker a quarter of a core); `--load aiohttp` runs the earlier pair. Figures: req/s;
the workers' CPU ms per request; the cores the workers kept busy (CPU seconds per second) and each worker's share; how
often the kernel preempted each worker per call it served (a worker sharing its CPU with the load is preempted by it);
the cores the load side used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.lean_http import LeanUpstream, run_lean_load  # noqa: E402
from benchmarks.machine import (  # noqa: E402
    ForeignCpu,
    child_pids,
    load_average,
    machine_line,
    parse_timed,
    preemptions,
    process_cpu_seconds,
    wait_idle,
)
from benchmarks.relay_bench import free_port, start_fake, stop_all, wait_port  # noqa: E402
from benchmarks.relay_full import prepare_account, start_server, start_store  # noqa: E402
from benchmarks.relay_load import LoadResult, pooled_result, run_load  # noqa: E402


@dataclass
class Slice:
    result: LoadResult
    workers_cpu: list[float]  # CPU seconds of the supervisor (first) and each worker during the measured window
    preempted: list[int]  # times each of them was preempted (nonvoluntary context switches) in the window
    load_cpu: float  # CPU seconds of the load generator, the fake and the store
    seconds: float
    other: float


@dataclass
class Row:
    workers: int
    slices: list[Slice] = field(default_factory=list)

    @property
    def result(self) -> LoadResult:
        return pooled_result([part.result for part in self.slices])

    @property
    def seconds(self) -> float:
        return sum(part.seconds for part in self.slices)

    def cpu_ms(self) -> float:
        return sum(sum(part.workers_cpu) for part in self.slices) * 1000 / max(self.result.ok, 1)

    def cores(self) -> float:
        return sum(sum(part.workers_cpu) for part in self.slices) / self.seconds

    def shares(self) -> list[float]:
        """Each worker's share of the workers' CPU (the kernel's spread of connections over the processes)."""
        per = [sum(values) for values in zip(*(part.workers_cpu[-self.workers :] for part in self.slices), strict=True)]
        return [value / max(sum(per), 1e-9) for value in per]

    def preempted_per_call(self) -> list[float]:
        """Each worker's preemptions per call it served (calls split by its share of the workers' CPU)."""
        per = [sum(values) for values in zip(*(part.preempted[-self.workers :] for part in self.slices), strict=True)]
        return [count / max(share * self.result.ok, 1) for count, share in zip(per, self.shares(), strict=True)]


def ready(base: str, timeout: float = 60.0) -> None:
    """Wait until the web processes answer /healthz (a few times in a row: every worker up)."""
    deadline, streak = time.monotonic() + timeout, 0
    while streak < 10 and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                streak = streak + 1 if response.status == 200 else 0
        except OSError:
            streak = 0
            time.sleep(0.1)


def measure(args: argparse.Namespace, url: str, key: str, pids: list[int], load_pids: list[int]) -> Slice:
    """Warm up, then measure one slice: (supervisor + workers) CPU and the load side's CPU over the window only."""
    return asyncio.run(_measure(args, url, key, pids, load_pids))


async def _measure(args: argparse.Namespace, url: str, key: str, pids: list[int], load_pids: list[int]) -> Slice:
    load = run_lean_load if args.load == "lean" else run_load
    async with contextlib.AsyncExitStack() as stack:
        if args.load == "lean":  # the upstream of this slice, in this process's event loop
            await stack.enter_async_context(LeanUpstream(args.upstream_port, args.chunks))
        await load(url, key, args.model, args.concurrency, args.warmup, 0.0, stream=args.stream)
        foreign = ForeignCpu([*pids, *load_pids]).start()
        before = [process_cpu_seconds(pid) for pid in pids]
        preempted_before = [preemptions(pid) for pid in pids]
        load_before = sum(process_cpu_seconds(pid) for pid in load_pids)
        seconds = args.seconds / args.rounds
        result = await load(url, key, args.model, args.concurrency, seconds, 0.0, stream=args.stream)
        spent = [process_cpu_seconds(pid) - start for pid, start in zip(pids, before, strict=True)]
        preempted = [preemptions(pid) - start for pid, start in zip(pids, preempted_before, strict=True)]
        load_cpu = sum(process_cpu_seconds(pid) for pid in load_pids) - load_before
    return Slice(result, spent, preempted, load_cpu, seconds, foreign.stop().other)


def worker_cpus(args: argparse.Namespace, workers: int) -> str:
    """The taskset CPU list of N workers: --worker-cpus, or with `scale` the first N CPUs."""
    if args.worker_cpus != "scale":
        return str(args.worker_cpus)
    return ",".join(map(str, args.all_cpus[:workers]))


def run_round(args: argparse.Namespace, env: dict[str, object], rows: dict[int, Row]) -> None:
    """Start `chatgate serve --workers N` for each N, measure one slice, stop it."""
    for workers in args.workers:
        port = free_port()
        server = start_server(
            str(env["store_url"]), str(env["fake_url"]), Path(str(env["data_dir"])), args.model, port,
            worker_cpus(args, workers), serve_args=("--workers", str(workers)),
        )  # fmt: skip
        try:
            wait_port(port, timeout=60)
            ready(f"http://127.0.0.1:{port}")
            pids = [server.pid, *child_pids(server.pid)] if workers > 1 else [server.pid]
            for pid in pids:
                wait_idle(pid)
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            part = measure(args, url, str(env["key"]), pids, list(env["load_pids"]))  # type: ignore[call-overload]
            rows[workers].slices.append(part)
            first_error = f" (first: {part.result.first_error})" if part.result.errors else ""
            rate, errors = part.result.rps, part.result.errors
            print(f"  workers={workers}: {rate:.0f} req/s, {errors} errors{first_error}", flush=True)
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()


def report(rows: dict[int, Row], args: argparse.Namespace) -> str:
    lines = [
        f"c={args.concurrency} {'streamed' if args.stream else 'not streamed'}, {args.seconds} s per N in "
        f"{args.rounds} alternating slices; workers on CPUs {args.worker_cpus}, load + fake + store on CPU "
        f"{args.load_cpu} ({args.load} load generator and upstream), WORKER_CPU_AFFINITY={args.affinity}",
        machine_line(args.load_before),
        "| workers | req/s | vs 1 worker | workers' CPU ms/req | workers' cores busy | each worker's share "
        "| each worker preempted per call | load side's cores busy | errors | other CPU |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    first = rows[args.workers[0]]
    for workers in args.workers:
        row = rows[workers]
        shares = " / ".join(f"{share:.0%}" for share in row.shares()) if workers > 1 else "-"
        preempted = " / ".join(f"{count:.2f}" for count in row.preempted_per_call())
        load_cores = sum(part.load_cpu for part in row.slices) / row.seconds
        other = max(part.other for part in row.slices)
        lines.append(
            f"| {workers} | {row.result.rps:.0f} | {row.result.rps / first.result.rps:.2f}x | {row.cpu_ms():.2f} "
            f"| {row.cores():.2f} | {shares} | {preempted} | {load_cores:.2f} | {row.result.errors} | {other:.0%} |"
        )
    last = rows[args.workers[-1]]
    cpu_change = last.cpu_ms() / first.cpu_ms()
    lines.append(
        f"N={args.workers[-1]} vs N={args.workers[0]}: CPU per request {cpu_change:.2f}x "
        f"({'PASS' if cpu_change <= 1.1 else 'FAIL'}: target not rising, 10% allowed for noise); throughput "
        f"{last.result.rps / first.result.rps:.2f}x with {last.cores() / first.cores():.2f}x the cores the workers "
        f"got ({'PASS' if last.result.rps > first.result.rps * 1.1 else 'FAIL'}: target growing with them)"
    )
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    args.load_before = load_average()
    os.sched_setaffinity(0, {args.load_cpu})
    os.environ["WORKER_CPU_AFFINITY"] = args.affinity  # the servers under test inherit it
    fake, fake_url = start_fake(args.chunks, args.load_cpu) if args.load == "aiohttp" else (None, "")
    if fake is None:  # the lean upstream runs in this process, on this port, during each slice
        args.upstream_port = free_port()
        fake_url = f"http://127.0.0.1:{args.upstream_port}"
    store = None
    try:
        with tempfile.TemporaryDirectory(prefix="workers-scale-") as workdir:
            store = start_store(Path(workdir), args.load_cpu)
            assert store.process is not None
            data_dir = Path(workdir) / "data"
            keys = asyncio.run(prepare_account(store.url, data_dir, args.model))
            env: dict[str, object] = {
                "store_url": store.url, "fake_url": fake_url, "data_dir": data_dir,
                "key": keys[0], "load_pids": [os.getpid(), store.process.pid, *([fake.pid] if fake else [])],
            }  # fmt: skip
            rows = {workers: Row(workers) for workers in args.workers}
            for _ in range(args.rounds):
                run_round(args, env, rows)
            print(report(rows, args))
    finally:
        stop_all((fake,), store)


def parse_args() -> argparse.Namespace:
    cpus = sorted(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=lambda v: [int(n) for n in v.split(",")], default=[1, 2])
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument(
        "--concurrency", type=int, default=256, help="calls in flight (default 256: enough to keep two workers busy)"
    )
    parser.add_argument("--stream", action="store_true", help="streamed calls (default: not streamed, a lighter load)")
    parser.add_argument("--chunks", type=int, default=16, help="content chunks of a streamed answer")
    parser.add_argument(
        "--worker-cpus", default="scale", help="scale (N workers on the first N CPUs), or a taskset list"
    )
    parser.set_defaults(all_cpus=cpus)
    parser.add_argument(
        "--load", choices=("lean", "aiohttp"), default="lean",
        help="lean: benchmarks/lean_http.py's client and upstream (default); aiohttp: relay_load's client and "
        "tests/fakes/openai_upstream, as in runs before 2026-12-03",
    )  # fmt: skip
    parser.add_argument(
        "--affinity", choices=("auto", "off"), default="auto",
        help="WORKER_CPU_AFFINITY of the server under test (auto: worker i kept on the i-th of its CPUs)",
    )  # fmt: skip
    parser.add_argument("--load-cpu", type=int, default=cpus[-1])
    return parse_timed(parser, default=(30.0, 3, 2.0), quick=(6.0, 1, 1.0))


if __name__ == "__main__":
    main()
