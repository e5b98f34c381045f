"""A/B of the full /v1 path between checkouts: each tree's `chatgate serve` on a store of its own, measured in
alternating slices in one run (the host's slow spells hit every tree alike).

Usage:
    .venv/bin/python benchmarks/full_ab.py --roots /tmp/before,.            # streamed, c = 64, 6 rounds of 4 s
    .venv/bin/python benchmarks/full_ab.py --roots /tmp/a,/tmp/b,. --no-stream --rounds 8
Each root is a checkout (e.g. `git worktree add /tmp/before <commit>`) whose full app is started as
benchmarks/relay_full.py starts it (API key, plan, keyword moderation), all servers on --server-cpu, the fake upstream,
the stores and the load on --load-cpu. Reports per tree the median and the lowest server CPU ms per request (user +
system from /proc) over the slices, every slice's figure and the median req/s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import load_average, machine_line, process_cpu_seconds  # noqa: E402
from benchmarks.relay_bench import free_port, start_fake, stop_all, wait_port  # noqa: E402
from benchmarks.relay_full import start_app  # noqa: E402
from benchmarks.relay_load import run_load  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--roots", required=True, help="comma-separated checkouts to compare")
    parser.add_argument("--no-stream", action="store_true", help="non-stream calls (default: streamed)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=4.0, help="per slice")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--load-cpu", type=int, default=1)
    args = parser.parse_args()
    roots = [Path(root).resolve() for root in args.roots.split(",")]
    load_before = load_average()
    fake, fake_url = start_fake(args.chunks, args.load_cpu)
    apps = []
    try:
        for root in roots:
            port = free_port()
            server, store, keys = start_app(
                Path(tempfile.mkdtemp()), fake_url, args.model, args.server_cpu, args.load_cpu, port, root=root
            )
            apps.append((root, port, server, store, keys[0]))
        for _, port, *_ in apps:
            wait_port(port)
        cpu: dict[Path, list[float]] = {root: [] for root in roots}
        rps: dict[Path, list[float]] = {root: [] for root in roots}
        for _ in range(args.rounds):
            for root, port, server, _, key in apps:
                url = f"http://127.0.0.1:{port}/v1/chat/completions"
                stream = not args.no_stream
                asyncio.run(run_load(url, key, args.model, args.concurrency, 0.5, 0, stream=stream))  # warm
                before = process_cpu_seconds(server.pid)
                result = asyncio.run(run_load(url, key, args.model, args.concurrency, args.seconds, 0, stream=stream))
                spent = process_cpu_seconds(server.pid) - before
                cpu[root].append(spent * 1000 / max(result.ok, 1))
                rps[root].append(result.ok / args.seconds)
        print(machine_line(load_before))
        mode = "not streamed" if args.no_stream else "streamed"
        print(f"{mode}, c={args.concurrency}, {args.rounds} rounds of {args.seconds:g} s per tree, alternating")
        for root in roots:
            slices = ", ".join(f"{value:.2f}" for value in cpu[root])
            print(
                f"{root}: CPU ms/request median {statistics.median(cpu[root]):.3f}, lowest {min(cpu[root]):.3f}; "
                f"req/s median {statistics.median(rps[root]):.0f}; slices {slices}"
            )
    finally:
        stop_all([fake, *(app[2] for app in apps)], None)
        for app in apps:
            app[3].stop()


if __name__ == "__main__":
    main()
