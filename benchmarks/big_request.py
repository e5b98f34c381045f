"""Big-request benchmark (issue 9, item 1): do 1 MB requests move other users' latency?

Usage (see benchmarks/README.md):
    .venv/bin/python benchmarks/big_request.py                     # this tree
    .venv/bin/python benchmarks/big_request.py --app-root /tmp/old  # the same run against another checkout
Starts the fake upstream and `chatgate serve --only web` (production mode, its own store, keyword moderation) with
two users, each with an API key. "Others" keep --concurrency streams in flight (closed loop, a short message, a
--chunks answer). Phases alternate --rounds times: "quiet" (others only) and "attack" (others, plus --attackers
loops of the second user each sending one ~1 MB request after another: a user message of "ab" repeated, the
slowest text there is for the tokenizer, ~250,000 tokens, more than gpt-4o-mini's 128k window: counted, then
refused with a 400). Reports others' latency (the whole stream, and the first token) p50 / p99 / max per phase,
the attackers' answers, and what else the machine ran. The server is pinned to --server-cpu, everything else
(load, fake, store) to --load-cpu.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import ForeignCpu, load_average, process_cpu_seconds, wait_idle  # noqa: E402
from benchmarks.relay_bench import free_port, spawn, wait_port  # noqa: E402
from benchmarks.relay_full import start_app  # noqa: E402
from benchmarks.relay_load import FIRST_TOKEN, chat_body  # noqa: E402

BIG_TEXT = "ab" * 499_000  # 998,000 characters: the body stays under MAX_BODY_BYTES (1,000,000)


@dataclass
class Phase:
    name: str
    totals: list[float] = field(default_factory=list)  # others: seconds from sending to [DONE]
    firsts: list[float] = field(default_factory=list)  # others: seconds to the first token
    errors: int = 0
    big: dict[int, int] = field(default_factory=dict)  # attackers: HTTP status -> count
    big_seconds: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    other_cpu: float = 0.0
    server_cpu: float = 0.0
    slice_p99s: list[float] = field(default_factory=list)  # others' p99 per slice: the run's own noise

    def add(self, part: Phase) -> None:
        self.slice_p99s.append(quantile_ms(part.totals, 0.99))
        self.totals += part.totals
        self.firsts += part.firsts
        self.errors += part.errors
        for status, count in part.big.items():
            self.big[status] = self.big.get(status, 0) + count
        self.big_seconds += part.big_seconds
        self.elapsed += part.elapsed
        self.other_cpu = max(self.other_cpu, part.other_cpu)
        self.server_cpu += part.server_cpu


def quantile_ms(values: list[float], q: float) -> float:
    if len(values) < 2:
        return float("nan") if not values else values[0] * 1000
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1] * 1000


async def other_user(session: aiohttp.ClientSession, url: str, key: str, model: str, phase: Phase, stop: float) -> None:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = chat_body(model)
    while time.perf_counter() < stop:
        started = time.perf_counter()
        first = 0.0
        try:
            async with session.post(url, data=body, headers=headers) as response:
                ok = response.status == 200
                async for chunk in response.content.iter_any():
                    if not first and FIRST_TOKEN.search(chunk):
                        first = time.perf_counter() - started
        except aiohttp.ClientError:
            ok = False
        if not ok or not first:
            phase.errors += 1
            continue
        phase.totals.append(time.perf_counter() - started)
        phase.firsts.append(first)


async def attacker(session: aiohttp.ClientSession, url: str, key: str, body: bytes, phase: Phase, stop: float) -> None:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    while time.perf_counter() < stop:
        started = time.perf_counter()
        async with session.post(url, data=body, headers=headers) as response:
            await response.read()
            phase.big[response.status] = phase.big.get(response.status, 0) + 1
        phase.big_seconds.append(time.perf_counter() - started)


async def run_phase(args: argparse.Namespace, url: str, keys: list[str], attack: bool, big_body: bytes) -> Phase:
    phase = Phase("attack" if attack else "quiet")
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        stop = time.perf_counter() + args.seconds
        tasks = [other_user(session, url, keys[0], args.model, phase, stop) for _ in range(args.concurrency)]
        if attack:
            tasks += [attacker(session, url, keys[1], big_body, phase, stop) for _ in range(args.attackers)]
        started = time.perf_counter()
        await asyncio.gather(*tasks)
        phase.elapsed = time.perf_counter() - started
    return phase


def measure(args: argparse.Namespace, url: str, keys: list[str], attack: bool, own: list[int], pid: int) -> Phase:
    big_body = orjson.dumps({"model": args.model, "messages": [{"role": "user", "content": BIG_TEXT}], "stream": True})
    foreign = ForeignCpu(own).start()
    cpu = process_cpu_seconds(pid)
    phase = asyncio.run(run_phase(args, url, keys, attack, big_body))
    phase.server_cpu = process_cpu_seconds(pid) - cpu
    phase.other_cpu = foreign.stop().other
    return phase


def report(quiet: Phase, attack: Phase, args: argparse.Namespace) -> str:
    lines = [
        f"app={args.app_root} concurrency={args.concurrency} attackers={args.attackers} chunks={args.chunks} "
        f"seconds={args.seconds}x{args.rounds} per phase, server on CPU {args.server_cpu}, the rest on CPU "
        f"{args.load_cpu}; load average {args.load_before:.2f} before, {load_average():.2f} after",
        "| phase | others' requests | req/s | total p50 / p99 / max ms | first token p50 / p99 ms | errors "
        "| 1 MB requests (status: count) | 1 MB p50 s | server CPU | other CPU |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for phase in (quiet, attack):
        big = ", ".join(f"{status}: {count}" for status, count in sorted(phase.big.items())) or "-"
        big_p50 = statistics.median(phase.big_seconds) if phase.big_seconds else float("nan")
        lines.append(
            f"| {phase.name} | {len(phase.totals)} | {len(phase.totals) / phase.elapsed:.0f} "
            f"| {quantile_ms(phase.totals, 0.5):.1f} / {quantile_ms(phase.totals, 0.99):.1f} / "
            f"{max(phase.totals) * 1000:.1f} | {quantile_ms(phase.firsts, 0.5):.1f} / "
            f"{quantile_ms(phase.firsts, 0.99):.1f} | {phase.errors} | {big} | {big_p50:.2f} "
            f"| {phase.server_cpu / phase.elapsed:.0%} | {phase.other_cpu:.0%} |"
        )
    change = quantile_ms(attack.totals, 0.99) - quantile_ms(quiet.totals, 0.99)
    lines.append(f"others' p99 moved by {change:+.1f} ms under 1 MB requests")
    for phase in (quiet, attack):
        slices = ", ".join(f"{p99:.0f}" for p99 in phase.slice_p99s)
        lines.append(
            f"{phase.name} slices' p99 ms: {slices} (spread {max(phase.slice_p99s) - min(phase.slice_p99s):.0f})"
        )
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    args.load_before = load_average()
    os.sched_setaffinity(0, {args.load_cpu})
    fake_port = free_port()
    fake = spawn(
        [
            sys.executable,
            "-m",
            "tests.fakes.openai_upstream",
            "--port",
            str(fake_port),
            "--chunks",
            str(args.chunks),
            "--key",
            "sk-bench",
        ],
        args.load_cpu,
    )
    server: subprocess.Popen[bytes] | None = None
    store = None
    try:
        wait_port(fake_port)
        with tempfile.TemporaryDirectory(prefix="big-request-bench-") as workdir:
            port = free_port()
            server, store, keys = start_app(
                Path(workdir), f"http://127.0.0.1:{fake_port}", args.model, args.server_cpu, args.load_cpu, port,
                users=2, root=Path(args.app_root),
            )  # fmt: skip
            wait_port(port, timeout=60)
            wait_idle(server.pid)
            own = [os.getpid(), fake.pid, server.pid, *([store.process.pid] if store.process else [])]
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            quiet, attack = Phase("quiet"), Phase("attack")
            measure(args, url, keys, False, own, server.pid)  # warm-up: keys remembered, tokenizer loaded
            for _ in range(args.rounds):
                quiet.add(measure(args, url, keys, False, own, server.pid))
                attack.add(measure(args, url, keys, True, own, server.pid))
            print(report(quiet, attack, args))
    finally:
        for proc in (server, fake):
            if proc is not None and proc.poll() is None:
                proc.kill()
        if store is not None:
            store.stop()


def parse_args() -> argparse.Namespace:
    cpus = sorted(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app-root", default=str(ROOT), help="the checkout whose `chatgate serve` is measured")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--chunks", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=8, help="others' streams in flight")
    parser.add_argument("--attackers", type=int, default=2, help="1 MB requests in flight during attack phases")
    parser.add_argument("--seconds", type=float, default=5.0, help="per phase slice")
    parser.add_argument("--rounds", type=int, default=3, help="quiet/attack slices, alternating")
    parser.add_argument("--server-cpu", type=int, default=cpus[0])
    parser.add_argument("--load-cpu", type=int, default=cpus[-1])
    return parser.parse_args()


if __name__ == "__main__":
    main()
