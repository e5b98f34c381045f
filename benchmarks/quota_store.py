"""The quota check against the store's own limit (issue 16, item 6): one consume script per request, as the app
calls it, against the store's raw EVALSHA rate of a trivial script and its raw PING rate, in the same run.

Usage (see benchmarks/README.md):
    .venv/bin/python benchmarks/quota_store.py           # c = 64, 3 alternating rounds of 4 s per phase
    .venv/bin/python benchmarks/quota_store.py --quick   # a 30 s smoke run
Starts an embedded store of its own (append-only, unix socket, as `chatgate serve`), pinned to --store-cpu; the
client is this process (redis-py asyncio, the app's connection settings: core.store.connection.connect), pinned to
--client-cpu. Phases, each with --concurrency callers in a closed loop, slices alternating --rounds times:
- consume: `core.billing.quotas.consume_quota` (one EVALSHA of the consume script: window, daily tokens,
  reservations, stream slots), over --users users on a plan whose limit (1,000,000 a minute) never binds;
- trivial: EVALSHA of `return 1` with one key, through the same redis-py script object path;
- ping: PING, one per call;
- ping pipeline: PINGs in pipelines of 100 (the store's raw command rate, as redis-benchmark -P 100).
Reports calls/s, the store's and the client's CPU µs per call (user + system time from /proc), the store's busy
share, the ceiling the store's CPU per call implies (1e6 / µs per call: what one store core could serve once the
clients are not the limit), and latency p50 / p99.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import ForeignCpu, load_average, machine_line, parse_timed, process_cpu_seconds  # noqa: E402
from core.billing.plans import MAX_LIMIT, Limit, Plan  # noqa: E402
from core.billing.quotas import consume_quota  # noqa: E402
from core.store.connection import Store, connect  # noqa: E402
from core.store.embedded import EmbeddedStore  # noqa: E402

MODEL = "gpt-4o-mini"
PLAN = Plan(name="free", title="Free", limits={MODEL: Limit(MAX_LIMIT, "1m")})
PIPELINE = 100


@dataclass
class Phase:
    name: str
    calls: int = 0
    seconds: float = 0.0
    store_cpu: float = 0.0
    client_cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)
    other: float = 0.0

    def per_call_us(self, cpu: float) -> float:
        return cpu * 1e6 / max(self.calls, 1)

    def quantile_ms(self, q: float) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[round(q * 100) - 1] * 1000


Call = Callable[[int], Awaitable[int]]  # one caller's next call (the counter: user, key); returns calls done


def calls(store: Store, users: int) -> dict[str, Call]:
    trivial = store.redis.register_script("return 1")

    async def consume(n: int) -> int:
        await consume_quota(store, n % users + 1, PLAN, MODEL, time.time())
        return 1

    async def script(n: int) -> int:
        await trivial(keys=[store.keys.quota_window(n % users + 1, MODEL)], args=[])
        return 1

    async def ping(n: int) -> int:
        await store.redis.ping()
        return 1

    async def ping_pipeline(n: int) -> int:
        async with store.redis.pipeline(transaction=False) as pipe:
            for _ in range(PIPELINE):
                pipe.ping()
            await pipe.execute()
        return PIPELINE

    return {"consume": consume, "trivial": script, "ping": ping, "ping pipeline": ping_pipeline}


async def drive(call: Call, concurrency: int, seconds: float, phase: Phase) -> None:
    stop = time.perf_counter() + seconds
    counter = iter(range(1 << 62))

    async def caller() -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            done = await call(next(counter))
            phase.latencies.append(time.perf_counter() - started)
            phase.calls += done

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    phase.seconds += time.perf_counter() - started


async def run(args: argparse.Namespace, store: Store, store_pid: int) -> list[Phase]:
    table = calls(store, args.users)
    phases = {name: Phase(name) for name in table}
    for name, call in table.items():  # warm-up: connections opened, scripts loaded, every user's keys made
        await drive(call, args.concurrency, args.warmup, Phase(name))
    for _ in range(args.rounds):
        for name, call in table.items():
            phase = phases[name]
            foreign = ForeignCpu([os.getpid(), store_pid]).start()
            store_before, client_before = process_cpu_seconds(store_pid), process_cpu_seconds(os.getpid())
            await drive(call, args.concurrency, args.seconds / args.rounds, phase)
            phase.store_cpu += process_cpu_seconds(store_pid) - store_before
            phase.client_cpu += process_cpu_seconds(os.getpid()) - client_before
            phase.other = max(phase.other, foreign.stop().other)
    return list(phases.values())


def report(phases: list[Phase], args: argparse.Namespace) -> str:
    lines = [
        f"c={args.concurrency}, {args.users} users, {args.seconds} s per phase in {args.rounds} alternating slices; "
        f"store on CPU {args.store_cpu}, client (redis-py asyncio) on CPU {args.client_cpu}",
        machine_line(args.load_before),
        "| phase | calls/s | vs trivial EVALSHA | store CPU µs/call | store busy | store ceiling calls/s "
        "| client CPU µs/call | latency p50 / p99 ms | other CPU |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    trivial = next(phase for phase in phases if phase.name == "trivial")
    for phase in phases:
        rate = phase.calls / phase.seconds
        store_us = phase.per_call_us(phase.store_cpu)
        latency = f"{phase.quantile_ms(0.5):.2f} / {phase.quantile_ms(0.99):.2f}"
        if phase.name == "ping pipeline":
            latency += f" (per {PIPELINE})"
        lines.append(
            f"| {phase.name} | {rate:,.0f} | {rate / (trivial.calls / trivial.seconds):.2f}x | {store_us:.1f} "
            f"| {phase.store_cpu / phase.seconds:.0%} | {1e6 / store_us:,.0f} | "
            f"{phase.per_call_us(phase.client_cpu):.1f} | {latency} | {phase.other:.0%} |"
        )
    consume = next(phase for phase in phases if phase.name == "consume")
    lines.append(
        f"consume vs trivial EVALSHA: {consume.calls / consume.seconds / (trivial.calls / trivial.seconds):.2f}x the "
        f"calls/s at {consume.per_call_us(consume.store_cpu) / trivial.per_call_us(trivial.store_cpu):.2f}x the "
        "store's CPU per call"
    )
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    args.load_before = load_average()
    os.sched_setaffinity(0, {args.client_cpu})
    with tempfile.TemporaryDirectory(prefix="quota-store-") as workdir:
        embedded = EmbeddedStore(Path(workdir))
        url = embedded.start()
        try:
            assert embedded.process is not None
            os.sched_setaffinity(embedded.process.pid, {args.store_cpu})
            store = connect(url)

            async def go() -> list[Phase]:
                try:
                    return await run(args, store, embedded.process.pid)  # type: ignore[union-attr]
                finally:
                    await store.close()

            try:
                import uvloop  # the app's loop (EVENT_LOOP=auto) where installed
            except ImportError:
                phases = asyncio.run(go())
            else:
                phases = uvloop.run(go())
            print(report(phases, args))
        finally:
            embedded.stop()


def parse_args() -> argparse.Namespace:
    cpus = sorted(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--store-cpu", type=int, default=cpus[0])
    parser.add_argument("--client-cpu", type=int, default=cpus[-1])
    return parse_timed(parser, default=(12.0, 3, 1.0), quick=(6.0, 1, 0.5))


if __name__ == "__main__":
    main()
