"""How the chat path's cost grows with the conversation's length (issue 16, item 6): 1, 10, 100 and 400 messages.

Usage (see benchmarks/README.md):
    .venv/bin/python benchmarks/conversation_length.py            # 3 alternating rounds, ~3 minutes
    .venv/bin/python benchmarks/conversation_length.py --quick    # a 30 s smoke run
Starts the fake upstream (--chunks content chunks per answer) and `chatgate serve --only web` in production mode
(benchmarks/relay_full.py: its own store, an API key, a non-binding plan, keyword moderation), the server pinned to
--server-cpu, the load generator (this process), the fake and the store to --load-cpu. Two paths, streamed:
- /v1: `POST /v1/chat/completions` with an API key and N messages in the body (alternating user / assistant,
  ending with the user's; every message the same ~40-word text with its number), N in --lengths;
- web chat: `POST /api/chat` with a session token, `regenerate` of the last answer of a stored conversation of N
  messages (N even: 2 stands for 1), so every request reads the whole history from the store, fits it, moderates
  the answer and stores a new version (the length stays N; versions are capped, core.chat.branches).
Slices of every (path, N) alternate --rounds times at --concurrency calls in flight. Reports req/s, the server's and
the store's CPU ms per request (user + system time from /proc), time to first token p50 / p99, and the growth against
the shortest conversation and per added message.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import ForeignCpu, load_average, machine_line, parse_timed, wait_idle  # noqa: E402
from benchmarks.relay_bench import free_port, measure_cpu, pool_cpus, start_fake, stop_all, wait_port  # noqa: E402
from benchmarks.relay_full import start_app  # noqa: E402
from benchmarks.relay_load import LoadResult, chat_body  # noqa: E402

WEB_DONE = b'"type":"done"'
TEXT = (
    "This is message {n} of a long conversation about relays, quotas and stores: it carries about forty words "
    "so that token counting, moderation and context fitting see a realistic amount of text in every turn, as "
    "a real chat would send upstream."
)


@dataclass
class Case:
    path: str  # "/v1" or "web chat"
    length: int
    url: str
    key: str
    body: bytes
    end: bytes


def v1_messages(length: int) -> list[dict[str, str]]:
    roles = ["user", "assistant"]
    return [{"role": roles[(length - 1 - i) % 2], "content": TEXT.format(n=i + 1)} for i in range(length)]


def post_json(url: str, body: Mapping[str, object], token: str = "") -> bytes:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(url, data=orjson.dumps(body), headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        return bytes(response.read())


def web_conversation(base: str, token: str, model: str, length: int) -> str:
    """Build a stored conversation of `length` messages through the web chat itself; return its id."""
    conversation = ""
    for turn in range(max(1, length // 2)):
        body: dict[str, object] = {"model": model, "content": TEXT.format(n=2 * turn + 1)}
        if conversation:
            body["conversation_id"] = conversation
        answer = post_json(f"{base}/api/chat", body, token)
        if not conversation:
            start = json.loads(answer.split(b"\n\n", 1)[0].removeprefix(b"data: "))
            conversation = str(start["conversation_id"])
    return conversation


def cases(args: argparse.Namespace, base: str, api_key: str) -> list[Case]:
    login = {"email": "bench@example.com", "password": "bench password 123"}
    token = str(json.loads(post_json(f"{base}/api/auth/login", login))["token"])
    found = []
    for length in args.lengths:
        body = chat_body(args.model, True, v1_messages(length))
        found.append(Case("/v1", length, f"{base}/v1/chat/completions", api_key, body, b"data: [DONE]"))
    for length in args.lengths:
        conversation = web_conversation(base, token, args.model, length)
        web = {"model": args.model, "action": "regenerate", "conversation_id": conversation}
        found.append(Case("web chat", max(2, length), f"{base}/api/chat", token, orjson.dumps(web), WEB_DONE))
    return found


Row = tuple[Case, LoadResult, list[float], float]  # the case, its pooled load, CPU ms per call (server, store), other


def run(args: argparse.Namespace, table: list[Case], pids: list[int]) -> list[Row]:
    parts: dict[int, list[tuple[LoadResult, list[float], ForeignCpu]]] = {i: [] for i in range(len(table))}
    seconds = args.seconds / args.rounds
    for _ in range(args.rounds):
        for index, case in enumerate(table):
            parts[index].append(
                measure_cpu(case.url, case.key, pids, args, args.concurrency, seconds, body=case.body, end=case.end)
            )
    rows = []
    for index, case in enumerate(table):
        result, cpus, foreign = pool_cpus(parts[index])
        if result.errors:
            print(f"  {case.path} {case.length}: {result.errors} errors, first: {result.first_error}", flush=True)
        rows.append((case, result, cpus, foreign.other))
    return rows


def report(rows: list[Row], args: argparse.Namespace) -> str:
    lines = [
        f"c={args.concurrency}, chunks={args.chunks}, {args.seconds} s per case in {args.rounds} alternating slices; "
        f"server on CPU {args.server_cpu}, load + fake + store on CPU {args.load_cpu}",
        machine_line(args.load_before),
        "| path | messages | req/s | server CPU ms/req | vs shortest | store CPU ms/req | TTFT p50 / p99 ms | errors "
        "| other CPU |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    shortest: dict[str, tuple[Case, list[float]]] = {}
    for case, result, cpus, other in rows:
        first = shortest.setdefault(case.path, (case, cpus))[1]
        lines.append(
            f"| {case.path} | {case.length} | {result.rps:.0f} | {cpus[0]:.2f} | {cpus[0] / first[0]:.2f}x "
            f"| {cpus[1]:.2f} | {result.ttft_ms(0.5):.2f} / {result.ttft_ms(0.99):.2f} | {result.errors} "
            f"| {other:.0%} |"
        )
    for path, (case, first) in shortest.items():
        last_case, _, last, _ = [row for row in rows if row[0].path == path][-1]
        slope = (last[0] + last[1] - first[0] - first[1]) * 1000 / max(last_case.length - case.length, 1)
        lines.append(f"{path}: {slope:.1f} µs of server + store CPU per added message ({case.length} -> "
                     f"{last_case.length} messages)")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    args.load_before = load_average()
    os.sched_setaffinity(0, {args.load_cpu})
    fake, fake_url = start_fake(args.chunks, args.load_cpu)
    server: subprocess.Popen[bytes] | None = None
    store = None
    try:
        with tempfile.TemporaryDirectory(prefix="conversation-length-") as workdir:
            port = free_port()
            server, store, keys = start_app(Path(workdir), fake_url, args.model, args.server_cpu, args.load_cpu, port)
            assert store.process is not None
            wait_port(port, timeout=60)
            base = f"http://127.0.0.1:{port}"
            table = cases(args, base, keys[0])
            wait_idle(server.pid)
            args.own_pids = [os.getpid(), fake.pid, server.pid, store.process.pid]
            rows = run(args, table, [server.pid, store.process.pid])
            print(report(rows, args))
    finally:
        stop_all((server, fake), store)


def parse_args() -> argparse.Namespace:
    cpus = sorted(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--lengths", type=lambda v: [int(n) for n in v.split(",")], default=[1, 10, 100, 400])
    parser.add_argument("--chunks", type=int, default=16, help="content chunks of each answer")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--server-cpu", type=int, default=cpus[0])
    parser.add_argument("--load-cpu", type=int, default=cpus[-1])
    return parse_timed(parser, default=(15.0, 3, 0.5), quick=(2.0, 1, 0.3))


if __name__ == "__main__":
    main()
