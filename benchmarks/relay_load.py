"""The load generator of the relay benchmark: closed-loop aiohttp workers streaming chat completions."""

from __future__ import annotations

import asyncio
import contextlib
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import orjson

FIRST_TOKEN = re.compile(rb'"content":"[^"]')  # the role chunk has "content":"", the first token does not
DONE = b"data: [DONE]\n\n"


@dataclass
class LoadResult:
    ok: int = 0
    errors: int = 0
    elapsed: float = 0.0
    ttfts: list[float] = field(default_factory=list)  # seconds
    first_error: str = ""

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def ttft_ms(self, quantile: float) -> float:
        if not self.ttfts:
            return float("nan")
        if len(self.ttfts) == 1:
            return self.ttfts[0] * 1000
        return statistics.quantiles(self.ttfts, n=100, method="inclusive")[round(quantile * 100) - 1] * 1000


def pooled_result(parts: list[LoadResult]) -> LoadResult:
    """Add up the slices of one phase (requests, errors, time, every time to first token)."""
    pooled = LoadResult()
    for part in parts:
        pooled.ok, pooled.errors, pooled.elapsed = (
            pooled.ok + part.ok,
            pooled.errors + part.errors,
            pooled.elapsed + part.elapsed,
        )
        pooled.ttfts.extend(part.ttfts)
        pooled.first_error = pooled.first_error or part.first_error
    return pooled


def chat_body(model: str, stream: bool = True, messages: list[dict[str, str]] | None = None) -> bytes:
    messages = messages or [{"role": "user", "content": "Write a short poem about relays."}]
    return orjson.dumps({"model": model, "messages": messages, "stream": stream})


async def one_stream(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], body: bytes, end: bytes = DONE
) -> float:
    """Run one streamed request to the end; return its time to first token (raise on any failure)."""
    started = time.perf_counter()
    ttft = 0.0
    tail = b""
    async with session.post(url, data=body, headers=headers) as response:
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {(await response.read())[:200]!r}")
        async for chunk in response.content.iter_any():
            if not ttft and FIRST_TOKEN.search(chunk):
                ttft = time.perf_counter() - started
            tail = (tail + chunk)[-256:]
    if end not in tail or b'"error"' in tail:
        raise RuntimeError(f"stream did not end with [DONE]: {tail!r}")
    return ttft


async def one_completion(session: aiohttp.ClientSession, url: str, headers: dict[str, str], body: bytes) -> float:
    """Run one non-streamed request; return its time to the whole answer (raise on any failure)."""
    started = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as response:
        answer = await response.read()
        if response.status != 200 or b'"choices"' not in answer:
            raise RuntimeError(f"HTTP {response.status}: {answer[:200]!r}")
    return time.perf_counter() - started


async def run_load(
    url: str, key: str, model: str, concurrency: int, seconds: float, warmup: float, *, stream: bool = True,
    body: bytes | None = None, end: bytes = DONE,
) -> LoadResult:  # fmt: skip
    """Keep `concurrency` requests in flight for `warmup` + `seconds`; count only what finished in the window.

    Streamed requests record the time to the first token, others the time to the whole answer (in `ttfts`); a
    stream must end with `end` (the web chat's: its done event).
    """
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = body or chat_body(model, stream)

    async def one(session: aiohttp.ClientSession, url: str, headers: dict[str, str], body: bytes) -> float:
        return await (
            one_stream(session, url, headers, body, end) if stream else one_completion(session, url, headers, body)
        )

    result = LoadResult()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        start = time.perf_counter()
        measure_from, stop_at = start + warmup, start + warmup + seconds

        async def worker() -> None:
            while (now := time.perf_counter()) < stop_at:
                try:
                    ttft = await one(session, url, headers, body)
                except Exception as exc:  # a failed request is counted, never fatal to the run
                    if now >= measure_from:
                        result.errors += 1
                        result.first_error = result.first_error or f"{type(exc).__name__}: {exc}"
                    continue
                if now >= measure_from and time.perf_counter() <= stop_at:
                    result.ok += 1
                    result.ttfts.append(ttft)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed = seconds
    return result


async def hold_streams(url: str, key: str, model: str, count: int, measure: Callable[[], None]) -> tuple[int, float]:
    """Open `count` streams, wait until each got its first token, call `measure()`, then hang up on all."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = chat_body(model)
    opened = settled = 0  # settled: got the first token or failed
    all_settled = asyncio.Event()
    release = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def holder() -> None:
            nonlocal opened, settled
            got_token = False
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    async for chunk in response.content.iter_any():
                        if FIRST_TOKEN.search(chunk):
                            got_token = True
                            break
                    opened += got_token
                    settled += 1
                    if settled == count:
                        all_settled.set()
                    if got_token:
                        await release.wait()
            except aiohttp.ClientError:
                settled += 1
                if settled == count:
                    all_settled.set()

        tasks = [asyncio.create_task(holder()) for _ in range(count)]
        started = time.perf_counter()
        with contextlib.suppress(TimeoutError):  # report how many opened, even if not all did
            await asyncio.wait_for(all_settled.wait(), timeout=90)
        took = time.perf_counter() - started
        measure()
        release.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return opened, took
