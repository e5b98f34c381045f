"""Relay benchmark: the same fake upstream measured direct and through a relay, with 64-chunk streams.

Usage (see benchmarks/README.md):
    .venv/bin/python benchmarks/relay_bench.py           # the relay engine behind a minimal Quart/Hypercorn route
    .venv/bin/python benchmarks/relay_bench.py --full    # ChatGate's /v1: API key, quota, usage, moderation
    .venv/bin/python benchmarks/relay_bench.py --fake-port 9100 --target URL --api-key sk-... --relay-pid PID
Reports requests/s, time to first token p50/p99 and the relay's CPU ms per request at each concurrency (relay/direct
ratios), and the relay's RSS with N streams open at once. The relay is pinned to --relay-cpu, the load generator
(this process), the fake upstream and the store to the other cores (taskset / sched_setaffinity).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import ForeignCpu, load_average, process_cpu_seconds, rss_mb, wait_idle  # noqa: E402
from benchmarks.relay_full import start_full_app  # noqa: E402
from benchmarks.relay_load import DONE, LoadResult, hold_streams, pooled_result, run_load  # noqa: E402
from core.store.embedded import EmbeddedStore  # noqa: E402

TARGETS = {"rps_ratio_c64": 0.4, "cpu_ms": 3.0, "ttft_added_ms_c1": 2.0, "rss_mb_open": 300.0}


@dataclass
class Row:
    concurrency: int
    direct_rps: float
    relay_rps: float
    direct_ttft_p50: float
    direct_ttft_p99: float
    relay_ttft_p50: float
    relay_ttft_p99: float
    relay_cpu_ms: float
    fake_cpu_ms_direct: float
    relay_errors: int
    other_cpu: float = 0.0  # CPUs used by processes outside the run during its phases (max of direct/relay)
    steal: float = 0.0  # hypervisor steal, CPUs (max of direct/relay)

    @property
    def ratio(self) -> float:
        return self.relay_rps / self.direct_rps if self.direct_rps else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(args: list[str], cpu: int, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a child pinned to one CPU (taskset execs the command, so the pid is the child's own)."""
    return subprocess.Popen(["taskset", "-c", str(cpu), *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def start_fake(chunks: int, cpu: int, port: int = 0) -> tuple[subprocess.Popen[bytes], str]:
    """Start the fake upstream pinned to `cpu` (`chunks` content chunks per answer, no delays: as fast as it goes),
    wait until it listens; return it and its base URL."""
    port = port or free_port()
    fake = spawn(
        [sys.executable, "-m", "tests.fakes.openai_upstream", "--port", str(port), "--chunks", str(chunks),
         "--key", "sk-bench", "--answer", "words", "--chunk-delay", "0", "--latency", "0"],
        cpu,
    )  # fmt: skip
    try:
        wait_port(port)
    except BaseException:
        fake.kill()
        raise
    return fake, f"http://127.0.0.1:{port}"


def stop_all(processes: Iterable[subprocess.Popen[bytes] | None], store: EmbeddedStore | None) -> None:
    """Kill what a run started and is still running, and stop its store."""
    for process in processes:
        if process is not None and process.poll() is None:
            process.kill()
    if store is not None:
        store.stop()


def set_fake(fake_url: str, **behaviour: object) -> None:
    request = urllib.request.Request(f"{fake_url}/_fake/behaviour", data=json.dumps(behaviour).encode())
    urllib.request.urlopen(request, timeout=5).close()


def measure(
    url: str, key: str, pid: int, args: argparse.Namespace, concurrency: int, seconds: float
) -> tuple[LoadResult, float, ForeignCpu]:
    """Run one load slice; return its result, the process's CPU ms per completed request and the foreign load."""
    result, cpu_ms, foreign = measure_cpu(url, key, [pid], args, concurrency, seconds)
    return result, cpu_ms[0], foreign


def measure_cpu(
    url: str, key: str, pids: Sequence[int], args: argparse.Namespace, concurrency: int, seconds: float, *,
    stream: bool = True, body: bytes | None = None, end: bytes = DONE,
) -> tuple[LoadResult, list[float], ForeignCpu]:  # fmt: skip
    """Run one load slice (`args`: model, warmup, own_pids); return its result, each process's CPU ms per completed
    request (user + system time from /proc, the warm-up's share removed) and the foreign load."""
    foreign = ForeignCpu(args.own_pids).start()
    before = [process_cpu_seconds(pid) for pid in pids]
    load = run_load(url, key, args.model, concurrency, seconds, args.warmup, stream=stream, body=body, end=end)
    result = asyncio.run(load)
    spent = [process_cpu_seconds(pid) - start for pid, start in zip(pids, before, strict=True)]
    foreign.stop()
    measured_share = seconds / (seconds + args.warmup)  # CPU of the warm-up is not per measured request
    return result, [cpu * measured_share * 1000 / max(result.ok, 1) for cpu in spent], foreign


def run_phases(args: argparse.Namespace, fake_url: str, fake_pid: int, relay_url: str, relay_pid: int) -> list[Row]:
    """Measure direct and relay at each concurrency; with --rounds, their slices alternate (same machine state)."""
    rows = []
    for concurrency in args.concurrency:
        direct_parts, relay_parts = [], []
        seconds = args.seconds / args.rounds
        for _ in range(args.rounds):
            direct_url, relay_url_ = f"{fake_url}/v1/chat/completions", f"{relay_url}/v1/chat/completions"
            direct_parts.append(measure(direct_url, "sk-bench", fake_pid, args, concurrency, seconds))
            relay_parts.append(measure(relay_url_, args.api_key, relay_pid, args, concurrency, seconds))
        direct, fake_cpu, foreign_d = pool(direct_parts)
        relay, relay_cpu, foreign_r = pool(relay_parts)
        if relay.errors or direct.errors:
            print(f"  errors: direct {direct.errors} {direct.first_error} / relay {relay.errors} {relay.first_error}")
        row = Row(
            concurrency,
            direct.rps,
            relay.rps,
            direct.ttft_ms(0.5),
            direct.ttft_ms(0.99),
            relay.ttft_ms(0.5),
            relay.ttft_ms(0.99),
            relay_cpu,
            fake_cpu,
            relay.errors,
            max(foreign_d.other, foreign_r.other),
            max(foreign_d.steal, foreign_r.steal),
        )
        print(f"  c={concurrency}: direct {row.direct_rps:.0f} req/s, relay {row.relay_rps:.0f} req/s", flush=True)
        rows.append(row)
    return rows


def pool(parts: list[tuple[LoadResult, float, ForeignCpu]]) -> tuple[LoadResult, float, ForeignCpu]:
    """Pool the slices of one phase: requests and time add up, CPU per request is weighted by requests."""
    pooled, cpus, worst = pool_cpus([(part, [cpu], foreign) for part, cpu, foreign in parts])
    return pooled, cpus[0], worst


def pool_cpus(parts: list[tuple[LoadResult, list[float], ForeignCpu]]) -> tuple[LoadResult, list[float], ForeignCpu]:
    """`pool` for slices measured with `measure_cpu`: each process's CPU per request, weighted by requests."""
    pooled = pooled_result([part for part, _, _ in parts])
    worst = ForeignCpu([])
    worst.other, worst.steal = max(f.other for _, _, f in parts), max(f.steal for _, _, f in parts)
    width = len(parts[0][1])
    cpus = [sum(cpu[i] * part.ok for part, cpu, _ in parts) / max(pooled.ok, 1) for i in range(width)]
    return pooled, cpus, worst


def memory_phase(args: argparse.Namespace, fake_url: str, relay_url: str, relay_pid: int) -> dict[str, float]:
    """Hold N streams open through the relay (the fake pauses after the first token) and read the relay's RSS."""
    idle = rss_mb(relay_pid)
    seen: dict[str, float] = {}
    set_fake(fake_url, chunks=args.chunks, pause_after=1, pause=120.0)
    try:

        def read() -> None:
            seen["rss"] = rss_mb(relay_pid)

        url = f"{relay_url}/v1/chat/completions"
        opened, took = asyncio.run(hold_streams(url, args.api_key, args.model, args.streams, read))
    finally:
        set_fake(fake_url, chunks=args.chunks)
    return {
        "streams": args.streams,
        "opened": opened,
        "open_seconds": took,
        "rss_idle_mb": idle,
        "rss_open_mb": seen["rss"],
    }


def report(rows: list[Row], memory: dict[str, float], args: argparse.Namespace) -> str:
    lines = [
        f"chunks={args.chunks} seconds={args.seconds} relay_cpu={args.relay_cpu} load_cpu={args.load_cpu} "
        f"fake_cpu={args.fake_cpu} store_cpu={args.store_cpu} rounds={args.rounds} target={describe_target(args)}",
        f"load average {args.load_before:.2f} before, {load_average():.2f} after (includes this run's own processes)",
        "| c | direct req/s | relay req/s | ratio | TTFT p50 direct/relay ms | TTFT p99 direct/relay ms "
        "| +TTFT p50 ms | relay CPU ms/req | fake CPU ms/req | other CPU / steal |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.concurrency} | {row.direct_rps:.0f} | {row.relay_rps:.0f} | {row.ratio:.2f}x "
            f"| {row.direct_ttft_p50:.2f} / {row.relay_ttft_p50:.2f} | {row.direct_ttft_p99:.2f} / "
            f"{row.relay_ttft_p99:.2f} | {row.relay_ttft_p50 - row.direct_ttft_p50:+.2f} | {row.relay_cpu_ms:.2f} "
            f"| {row.fake_cpu_ms_direct:.2f} | {row.other_cpu:.0%} / {row.steal:.0%} |"
        )
    if memory:
        lines.append(
            f"memory: {memory['opened']}/{memory['streams']} streams open (in {memory['open_seconds']:.1f} s): "
            f"relay RSS {memory['rss_open_mb']:.0f} MB (idle {memory['rss_idle_mb']:.0f} MB)"
        )
    lines.extend(verdicts(rows, memory))
    return "\n".join(lines)


def describe_target(args: argparse.Namespace) -> str:
    if args.target:
        return args.target
    if args.full:
        return "ChatGate /v1 (chatgate serve: API key, quota, usage, keyword moderation)"
    return "relay engine (benchmarks/relay_app.py)"


def verdicts(rows: list[Row], memory: dict[str, float]) -> list[str]:
    by_c = {row.concurrency: row for row in rows}
    checks = []
    if 64 in by_c:
        checks.append(("req/s ratio at c=64", by_c[64].ratio, ">=", TARGETS["rps_ratio_c64"]))
    if rows:
        checks.append(("max relay CPU ms/request", max(r.relay_cpu_ms for r in rows), "<=", TARGETS["cpu_ms"]))
    if 1 in by_c:
        added = by_c[1].relay_ttft_p50 - by_c[1].direct_ttft_p50
        checks.append(("added TTFT p50 at c=1 (ms)", added, "<=", TARGETS["ttft_added_ms_c1"]))
    if memory:
        checks.append(
            (f"RSS with {memory['streams']} streams (MB)", memory["rss_open_mb"], "<=", TARGETS["rss_mb_open"])
        )
    lines = []
    for name, value, op, goal in checks:
        passed = value >= goal if op == ">=" else value <= goal
        lines.append(f"{'PASS' if passed else 'FAIL'} {name}: {value:.2f} (target {op} {goal})")
    return lines


def start_engine(
    args: argparse.Namespace, workdir: Path, fake_url: str
) -> tuple[subprocess.Popen[bytes], str, EmbeddedStore]:
    """Start a store (on the load core) and the relay engine app (on the relay core)."""
    store = EmbeddedStore(workdir)
    store_url = store.start()
    assert store.process is not None
    os.sched_setaffinity(store.process.pid, {args.store_cpu})
    port = free_port()
    app = spawn(
        [sys.executable, "benchmarks/relay_app.py", "--upstream", f"{fake_url}/v1", "--port", str(port),
         "--store", store_url, "--key", args.api_key, "--data-dir", str(workdir / "data")],
        args.relay_cpu,
    )  # fmt: skip
    wait_port(port)
    return app, f"http://127.0.0.1:{port}", store


def start_relay(
    args: argparse.Namespace, workdir: Path, fake_url: str
) -> tuple[subprocess.Popen[bytes] | None, str, int, EmbeddedStore | None]:
    """Return (process we started, URL, pid, store we started) of the relay under test."""
    if args.target:
        os.sched_setaffinity(args.relay_pid, {args.relay_cpu})
        return None, args.target.rstrip("/"), args.relay_pid, None
    if args.full:
        port = free_port()
        cpus = (args.relay_cpu, args.store_cpu)
        server, store, args.api_key = start_full_app(workdir, fake_url, args.model, *cpus, port)
        wait_port(port, timeout=60)
        return server, f"http://127.0.0.1:{port}", server.pid, store
    app, url, store = start_engine(args, workdir, fake_url)
    return app, url, app.pid, store


def main() -> None:
    args = parse_args()
    args.load_before = load_average()
    os.sched_setaffinity(0, {args.load_cpu})
    fake, fake_url = start_fake(args.chunks, args.fake_cpu, args.fake_port)
    relay_proc, store = None, None
    try:
        with tempfile.TemporaryDirectory(prefix="relay-bench-") as workdir:
            relay_proc, relay_url, relay_pid, store = start_relay(args, Path(workdir), fake_url)
            store_pids = [store.process.pid] if store is not None and store.process is not None else []
            args.own_pids = [os.getpid(), fake.pid, relay_pid, *store_pids]
            wait_idle(relay_pid)  # its start-up work (tokenizer preload, seeding) is not per-request CPU
            rows = run_phases(args, fake_url, fake.pid, relay_url, relay_pid)
            memory = memory_phase(args, fake_url, relay_url, relay_pid) if args.streams else {}
            print(report(rows, memory, args))
            if args.json:
                Path(args.json).write_text(json.dumps({"rows": [asdict(r) for r in rows], "memory": memory}, indent=2))
            if relay_proc is not None:
                relay_proc.terminate()
                relay_proc.wait(10)
    finally:
        stop_all((relay_proc, fake), store)


def parse_args() -> argparse.Namespace:
    cpus = sorted(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="start the full ChatGate web app and measure its /v1")
    parser.add_argument("--target", default="", help="a running ChatGate base URL (default: start the engine app)")
    parser.add_argument("--api-key", default="sk-relay", help="the key to send to the target")
    parser.add_argument("--relay-pid", type=int, default=0, help="the target's pid (its CPU and RSS are read)")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--fake-port", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--concurrency", type=lambda v: [int(c) for c in v.split(",")], default=[1, 16, 64])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0, help="per slice, not counted")
    parser.add_argument("--rounds", type=int, default=1, help="alternate direct/relay slices this many times")
    parser.add_argument("--streams", type=int, default=1000, help="open streams for the memory figure (0 = skip)")
    parser.add_argument("--relay-cpu", type=int, default=cpus[0])
    parser.add_argument("--load-cpu", type=int, default=cpus[-1])
    parser.add_argument("--fake-cpu", type=int, default=cpus[2] if len(cpus) > 2 else cpus[-1])
    parser.add_argument("--store-cpu", type=int, default=None, help="CPU of the store (default: the fake's)")
    parser.add_argument("--json", default="", help="also write the figures to this file")
    args = parser.parse_args()
    if args.store_cpu is None:
        args.store_cpu = args.fake_cpu
    if args.target and not args.relay_pid:
        parser.error("--target needs --relay-pid (the relay's CPU time and RSS are read from /proc)")
    return args


if __name__ == "__main__":
    main()
