"""What else the machine did during a benchmark phase: CPU time of processes that are not part of the run.

Figures taken while other jobs use the CPU show that load, not the code, so every phase reports it: the machine's
user + system time (from /proc/stat) minus that of the benchmark's own processes (relay, fake, store, load), per
second of wall time ("0.05" = 5% of one CPU), plus the hypervisor's steal time and the load average.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """Return user + system CPU seconds of a process (fields 14 and 15 of /proc/<pid>/stat); 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def preemptions(pid: int) -> int:
    """Return how often the kernel has taken the CPU from a process's main thread while it could still run
    (nonvoluntary_ctxt_switches in /proc/<pid>/status); 0 if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0
    return int(status.split("nonvoluntary_ctxt_switches:", 1)[1].split()[0])


def child_pids(pid: int) -> list[int]:
    """Return the pids of a process's children (every thread's list, from /proc)."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in children.read_text().split()]
    return sorted(set(found))


def rss_mb(pid: int) -> float:
    """Return the resident memory of a process (VmRSS) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine_cpu_seconds() -> tuple[float, float]:
    """Return the machine's (user + nice + system, steal) CPU seconds so far (irq time excluded: ours is loopback)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, steal = values[0], values[1], values[2], values[7]
    return (user + nice + system) / CLOCK_TICKS, steal / CLOCK_TICKS


def wait_idle(pid: int, window: float = 0.5, busy: float = 0.02, timeout: float = 30.0) -> float:
    """Wait until a process uses less than `busy` of a CPU over `window` s (its start-up work, e.g. loading the
    tokenizer in a thread, is done); return the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = process_cpu_seconds(pid)
        time.sleep(window)
        if process_cpu_seconds(pid) - before < busy * window:
            break
    return time.monotonic() - started


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


class ForeignCpu:
    """Measure, between `start()` and `stop()`, the CPU other processes used, per second of wall time."""

    def __init__(self, own_pids: list[int]) -> None:
        self.own_pids = own_pids
        self.other = 0.0  # CPUs busy with other processes on average (1.0 = one whole CPU)
        self.steal = 0.0

    def _own(self) -> float:
        return sum(process_cpu_seconds(pid) for pid in self.own_pids)

    def start(self) -> ForeignCpu:
        self._wall = time.monotonic()
        self._busy, self._steal = machine_cpu_seconds()
        self._own_start = self._own()
        return self

    def stop(self) -> ForeignCpu:
        wall = max(time.monotonic() - self._wall, 1e-9)
        busy, steal = machine_cpu_seconds()
        own = self._own() - self._own_start
        self.other = max(0.0, (busy - self._busy) - own) / wall
        self.steal = (steal - self._steal) / wall
        return self


Timing = tuple[float, int, float]  # measured seconds (over all rounds), alternating rounds, warm-up seconds


def parse_timed(parser: argparse.ArgumentParser, default: Timing, quick: Timing) -> argparse.Namespace:
    """Add the options every benchmark shares (--seconds, --rounds, --warmup, --quick), parse the command line, and
    apply --quick's timing (a ~30 s smoke run)."""
    seconds, rounds, warmup = default
    parser.add_argument("--seconds", type=float, default=seconds, help="measured seconds per case, over all rounds")
    parser.add_argument("--rounds", type=int, default=rounds, help="alternating slices per case")
    parser.add_argument("--warmup", type=float, default=warmup, help="per slice, not counted")
    parser.add_argument("--quick", action="store_true", help=f"a ~30 s smoke run: {quick}")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.warmup = quick
    return args


def describe_machine() -> str:
    """Return one line about the machine: CPU model and count, memory, kernel, Python, the store server."""
    import platform
    import subprocess

    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?")
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    try:
        from core.store.embedded import find_server_binary

        store = subprocess.run([find_server_binary(), "--version"], capture_output=True, text=True).stdout.strip()
    except (ImportError, OSError):
        store = "?"
    return (
        f"{os.cpu_count()} x {model}, {memory_kb / 1024 / 1024:.1f} GB RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}, store: {store[:60]}"
    )


def machine_line(load_before: float) -> str:
    """The machine and what else it ran: for every benchmark's report."""
    return f"machine: {describe_machine()}; load average {load_before:.2f} before, {load_average():.2f} after"


if __name__ == "__main__":
    print(describe_machine())
    print(f"load average {load_average():.2f}")
