"""Relay overhead (issue 16, item 6): ChatGate's full /v1 path against a direct call to the upstream and against a
bare Quart + aiohttp byte pass-through proxy, measured in the same run.

Usage (see benchmarks/README.md):
    .venv/bin/python benchmarks/relay_overhead.py            # c = 1 and 64, streamed and not, 3 alternating rounds
    .venv/bin/python benchmarks/relay_overhead.py --quick    # a 30 s smoke run
    .venv/bin/python benchmarks/relay_overhead.py --profile /tmp/full.prof   # the full app under cProfile
    .venv/bin/python benchmarks/relay_overhead.py --app-root /tmp/other      # another checkout's full app
    .venv/bin/python benchmarks/relay_overhead.py --raw      # also the pass-through without Quart
Starts the fake upstream (`--chunks` content chunks), the pass-through (benchmarks/passthrough_app.py) and
`chatgate serve --only web` in production mode (benchmarks/relay_full.py: its own store, API key, quota, usage,
keyword moderation). Both servers are pinned to --server-cpu; the load generator (this process), the fake and the
store to --load-cpu. For each mode and concurrency, slices of direct / pass-through / full alternate --rounds times.
Reports req/s, each server's CPU ms per request (user + system time from /proc; the full path's store separately)
and latency, with the ratios to the pass-through; PASS/FAIL against the issue's target at c=64.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import ForeignCpu, load_average, machine_line, parse_timed, wait_idle  # noqa: E402
from benchmarks.relay_bench import free_port, measure_cpu, pool_cpus, spawn, start_fake, stop_all, wait_port  # noqa: E402
from benchmarks.relay_full import start_app  # noqa: E402
from benchmarks.relay_load import LoadResult  # noqa: E402
from core.store.embedded import EmbeddedStore  # noqa: E402

TARGET_RPS_RATIO, TARGET_CPU_RATIO = 0.75, 1.5  # full /v1 vs the pass-through at c=64 (issue 16)
NAMES = ("direct", "pass-through", "full /v1")


@dataclass
class Target:
    name: str
    url: str
    key: str
    pids: list[int]  # the server's pid first, then the store's (full path only)


@dataclass
class Row:
    mode: str
    concurrency: int
    target: str
    rps: float
    cpu_ms: float  # the server process's CPU per request
    store_cpu_ms: float  # the full path's store, per request (0 elsewhere)
    p50_ms: float  # streamed: time to first token; not streamed: the whole answer
    p99_ms: float
    errors: int
    other_cpu: float


def run(args: argparse.Namespace, targets: list[Target]) -> list[Row]:
    rows = []
    for stream in args.modes:
        for concurrency in args.concurrency:
            parts: dict[str, list[tuple[LoadResult, list[float], ForeignCpu]]] = {t.name: [] for t in targets}
            for _ in range(args.rounds):
                for target in targets:
                    seconds = args.seconds / args.rounds
                    parts[target.name].append(
                        measure_cpu(target.url, target.key, target.pids, args, concurrency, seconds, stream=stream)
                    )
            mode = "stream" if stream else "no stream"
            for target in targets:
                result, cpus, foreign = pool_cpus(parts[target.name])
                rows.append(
                    Row(mode, concurrency, target.name, result.rps, cpus[0], cpus[1] if len(cpus) > 1 else 0.0,
                        result.ttft_ms(0.5), result.ttft_ms(0.99), result.errors, foreign.other)
                )  # fmt: skip
                if result.errors:
                    print(f"  {target.name}: {result.errors} errors, first: {result.first_error}", flush=True)
            summary = ", ".join(f"{row.target} {row.rps:.0f}" for row in rows[-len(targets) :])
            print(f"  {mode} c={concurrency}: req/s {summary}", flush=True)
    return rows


def report(rows: list[Row], args: argparse.Namespace) -> str:
    lines = [
        f"app={args.app_root} chunks={args.chunks} seconds={args.seconds} per phase in {args.rounds} alternating "
        f"slices, servers on CPU {args.server_cpu}, load + fake + store on CPU {args.load_cpu}",
        machine_line(args.load_before),
        "| mode | c | target | req/s | req/s vs pass-through | server CPU ms/req | CPU vs pass-through "
        "| + store CPU ms/req | p50 / p99 ms | errors | other CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    base = {(r.mode, r.concurrency): r for r in rows if r.target == "pass-through"}
    for row in rows:
        ref = base[(row.mode, row.concurrency)]
        store = f"{row.store_cpu_ms:.2f}" if row.store_cpu_ms else "-"
        lines.append(
            f"| {row.mode} | {row.concurrency} | {row.target} | {row.rps:.0f} | {row.rps / ref.rps:.2f}x "
            f"| {row.cpu_ms:.2f} | {row.cpu_ms / ref.cpu_ms:.2f}x | {store} | {row.p50_ms:.2f} / {row.p99_ms:.2f} "
            f"| {row.errors} | {row.other_cpu:.0%} |"
        )
    for row in rows:
        if row.target == "full /v1" and row.concurrency == 64:
            ref = base[(row.mode, 64)]
            rps, cpu = row.rps / ref.rps, row.cpu_ms / ref.cpu_ms
            with_store = (row.cpu_ms + row.store_cpu_ms) / ref.cpu_ms
            verdict = "PASS" if rps >= TARGET_RPS_RATIO and cpu <= TARGET_CPU_RATIO else "FAIL"
            lines.append(
                f"{verdict} {row.mode} c=64: {rps:.2f}x the pass-through's req/s (target >= {TARGET_RPS_RATIO}x) "
                f"at {cpu:.2f}x its CPU per request (target <= {TARGET_CPU_RATIO}x; "
                f"{with_store:.2f}x counting the store's CPU too: "
                f"{'PASS' if rps >= TARGET_RPS_RATIO and with_store <= TARGET_CPU_RATIO else 'FAIL'})"
            )
    return "\n".join(lines)


def start_targets(
    args: argparse.Namespace, workdir: Path, fake: subprocess.Popen[bytes], fake_url: str
) -> tuple[list[Target], list[subprocess.Popen[bytes]], EmbeddedStore]:
    pt_port, full_port = free_port(), free_port()
    passthrough = spawn(
        [sys.executable, "benchmarks/passthrough_app.py", "--upstream", fake_url, "--port", str(pt_port)],
        args.server_cpu,
    )
    server, store, keys = start_app(
        workdir, fake_url, args.model, args.server_cpu, args.load_cpu, full_port, root=Path(args.app_root),
        profile=args.profile,
    )  # fmt: skip
    assert store.process is not None
    wait_port(pt_port)
    wait_port(full_port, timeout=60)
    for pid in (passthrough.pid, server.pid):
        wait_idle(pid)  # start-up work (tokenizer preload, seeding) is not per-request CPU
    path = "/v1/chat/completions"
    targets = [
        Target("direct", f"{fake_url}{path}", "sk-bench", [fake.pid]),
        Target("pass-through", f"http://127.0.0.1:{pt_port}{path}", "-", [passthrough.pid]),
        Target("full /v1", f"http://127.0.0.1:{full_port}{path}", keys[0], [server.pid, store.process.pid]),
    ]
    args.own_pids = [os.getpid(), fake.pid, passthrough.pid, server.pid, store.process.pid]
    servers = [passthrough, server]
    if args.raw:  # the same pass-through without Quart: what the framework costs per request
        raw_port = free_port()
        raw = spawn(
            [sys.executable, "benchmarks/passthrough_asgi.py", "--upstream", fake_url, "--port", str(raw_port)],
            args.server_cpu,
        )
        servers.append(raw)
        wait_port(raw_port)
        wait_idle(raw.pid)
        targets.insert(2, Target("raw ASGI pass-through", f"http://127.0.0.1:{raw_port}{path}", "-", [raw.pid]))
        args.own_pids.append(raw.pid)
    return targets, servers, store


def main() -> None:
    args = parse_args()
    args.load_before = load_average()
    os.sched_setaffinity(0, {args.load_cpu})
    fake, fake_url = start_fake(args.chunks, args.load_cpu)
    servers: list[subprocess.Popen[bytes]] = []
    store = None
    try:
        with tempfile.TemporaryDirectory(prefix="relay-overhead-") as workdir:
            targets, servers, store = start_targets(args, Path(workdir), fake, fake_url)
            rows = run(args, targets)
            print(report(rows, args))
            if args.json:
                Path(args.json).write_text(json.dumps([asdict(row) for row in rows], indent=2))
            for server in servers:
                server.terminate()
                server.wait(30)  # the full app writes its profile (--profile) when it exits
    finally:
        stop_all((*servers, fake), store)


def parse_args() -> argparse.Namespace:
    cpus = sorted(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--chunks", type=int, default=64, help="content chunks of each streamed answer")
    parser.add_argument("--concurrency", type=lambda v: [int(c) for c in v.split(",")], default=[1, 64])
    parser.add_argument("--modes", type=lambda v: [m == "stream" for m in v.split(",")], default=[True, False],
                        help="stream,nostream (default both)")  # fmt: skip
    parser.add_argument("--server-cpu", type=int, default=cpus[0])
    parser.add_argument("--load-cpu", type=int, default=cpus[-1])
    parser.add_argument("--app-root", default=str(ROOT), help="the checkout whose `chatgate serve` is measured")
    parser.add_argument("--profile", default="", help="run the full app under cProfile, write the stats here")
    parser.add_argument("--json", default="", help="also write the rows to this file")
    parser.add_argument("--raw", action="store_true", help="also measure the pass-through as a bare ASGI app")
    return parse_timed(parser, default=(9.0, 3, 1.0), quick=(1.5, 1, 0.5))


if __name__ == "__main__":
    main()
