"""SSE parsing cost: one streamed answer read by core.relay.upstream_sse.SSEParser, in reads of 1, 3 or all events.

Usage (see benchmarks/README.md):
    .venv/bin/python benchmarks/sse_parse.py                      # this tree
    .venv/bin/python benchmarks/sse_parse.py --roots /tmp/old,.   # several checkouts, alternating, in one run
The answer is what OpenAI sends for a `--chunks` answer (a role chunk, one content chunk per word, the finish chunk,
the usage chunk, [DONE]), the ids and fingerprints included. Each read size is parsed --repeat times per slice, the
roots' slices alternate --rounds times, and the median microseconds per answer (and per read) are reported. Each root
runs in a process of its own (its `core` is imported from that checkout).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

READS = (1, 3, 0)  # events per read; 0: the whole answer in one read


def answer(chunks: int) -> list[bytes]:
    """The events of one streamed answer, as an upstream writes them."""

    def event(choices: list[dict[str, object]], usage: dict[str, int] | None = None) -> bytes:
        body: dict[str, object] = {
            "id": "chatcmpl-AaBbCcDdEeFfGgHhIiJjKkLl", "object": "chat.completion.chunk", "created": 1733140000,
            "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_0ba0d124f1", "choices": choices,
        }  # fmt: skip
        if usage is not None:
            body["usage"] = usage
        return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"

    def choice(delta: dict[str, str], finish: str | None = None) -> list[dict[str, object]]:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

    events = [event(choice({"role": "assistant", "content": ""}))]
    events += [event(choice({"content": f" word{index}"})) for index in range(chunks)]
    events.append(event(choice({}, "stop")))
    events.append(event([], {"prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": 12 + chunks}))
    return [*events, b"data: [DONE]\n\n"]


def measure(root: str, chunks: int, repeat: int) -> dict[str, float]:
    """Microseconds per answer for each read size, parsed in this process with `root`'s parser."""
    sys.path.insert(0, root)
    from core.relay.upstream_sse import SSEParser

    events = answer(chunks)
    results: dict[str, float] = {}
    for size in READS:
        step = size or len(events)
        reads = [b"".join(events[start : start + step]) for start in range(0, len(events), step)]
        started = time.perf_counter()
        for _ in range(repeat):
            parser = SSEParser(forward_usage=False)
            for data in reads:
                parser.feed(data)
        results[str(size)] = (time.perf_counter() - started) / repeat * 1e6
        results[f"reads{size}"] = len(reads)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--roots", default=".", help="comma-separated checkouts (default: this tree)")
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.chunks, args.repeat)))
        return
    roots = [str(Path(root).resolve()) for root in args.roots.split(",")]
    slices: dict[str, list[dict[str, float]]] = {root: [] for root in roots}
    for _ in range(args.rounds):
        for root in roots:
            command = [sys.executable, __file__, "--child", root, "--chunks", str(args.chunks), "--repeat",
                       str(args.repeat)]  # fmt: skip
            slices[root].append(json.loads(subprocess.run(command, check=True, capture_output=True).stdout))
    print(f"one {args.chunks}-chunk answer, median of {args.rounds} slices of {args.repeat} answers per root")
    for root in roots:
        parts = []
        for size in READS:
            per_answer = statistics.median(entry[str(size)] for entry in slices[root])
            reads = int(slices[root][0][f"reads{size}"])
            label = f"{size} per read" if size else "all in one read"
            parts.append(f"{label}: {per_answer:.1f} us ({per_answer / reads:.2f} us x {reads} reads)")
        print(f"{root}: " + "; ".join(parts))


if __name__ == "__main__":
    main()
