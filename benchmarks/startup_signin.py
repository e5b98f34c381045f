"""Time from `chatgate serve` to the first 200 on a fresh data directory, and sign-in latency percentiles.

Usage: .venv/bin/python benchmarks/startup_signin.py [--runs 5] [--logins 200]
Each run starts `chatgate serve` on a new empty DATA_DIR (embedded store, no providers) and polls GET /login.
Sign-in: one registered account, sequential POST /api/auth/login (argon2id verify + session write) over one
keep-alive connection; p50/p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(data_dir: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    port, admin_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "NEXT_PUBLIC_EMAIL", "SMS_"))}
    env.update(DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "chatgate", "serve", "--port", str(port), "--admin-port", str(admin_port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(f"{base}/login", timeout=1).status_code == 200:
                return process, base, time.perf_counter() - began
        except httpx.TransportError:
            time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--logins", type=int, default=200)
    args = parser.parse_args()
    startups: list[float] = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            process, base, seconds = start(Path(tmp) / "data")
            startups.append(seconds)
            if run == args.runs - 1:
                credentials = {"email": "bench@example.com", "password": "benchmark-password"}
                with httpx.Client(base_url=base, timeout=10) as client:
                    assert client.post("/api/auth/register", json=credentials).status_code == 201
                    latencies = []
                    for _ in range(args.logins):
                        began = time.perf_counter()
                        response = client.post("/api/auth/login", json=credentials)
                        latencies.append((time.perf_counter() - began) * 1000)
                        assert response.status_code == 200, response.text
                cuts = statistics.quantiles(latencies, n=100)
                print(f"sign-in over {args.logins} requests: p50 {cuts[49]:.1f} ms, p95 {cuts[94]:.1f} ms")
            process.terminate()
            process.wait(15)
    print(
        f"serve -> first 200 on a fresh DATA_DIR over {args.runs} runs: "
        f"median {statistics.median(startups):.2f} s, min {min(startups):.2f} s, max {max(startups):.2f} s"
    )


if __name__ == "__main__":
    main()
