"""WeChat webhook handling time for a message whose answer is already ready, against a bare signed-XML echo handler.

Usage: .venv/bin/python benchmarks/wechat_webhook.py [--messages 1000] [--rounds 4] [--aes]

What it starts: the fake OpenAI-compatible upstream (8-chunk answers), `chatgate serve --only web` in production mode
on its own embedded store with WECHAT_TOKEN set (subscription mode), and the baseline benchmarks/wechat_echo.py
(Quart + Hypercorn, wechatpy signature check, parse and reply; no store). Requests are signed like WeChat's (plain,
or the safe-mode AES envelope with --aes) and sent one at a time over a keep-alive connection; the time is the
client's, request to full response.

Paths measured (the answers are made before the clock starts, through the real path: each message's first delivery
runs the chat turn against the fake upstream):
- retry: WeChat's next try of a message whose answer is ready (dedupe script, reply read, XML reply);
- next message: a follower's new message that takes an answer part waiting in the store (a long answer's next
  part: the fetch script pops it);
- echo: the baseline, the same signed XML to the bare handler.
Phases alternate in `--rounds` slices (echo, retry, next message, ...) so a slow spell of the host weighs on all.
Besides the client's times it prints the servers' CPU per request (user + system from /proc: the echo process; the
web process plus its embedded store), which other load on the machine disturbs much less than the wall-clock times.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import xmltodict
from wechatpy.crypto import PrpCrypto, WeChatCrypto

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import ForeignCpu, load_average, process_cpu_seconds, wait_idle
from channels.wechat.codec import signature_of

ROOT = Path(__file__).resolve().parent.parent
TOKEN, APPID, ACCOUNT = "bench-wechat-token", "wx0123456789abcdef", "gh_bench"
CONTINUE = "（回复任意内容继续）"
ANSWER = "word0 word1 word2 word3 word4 word5 word6 word7"  # what the fake upstream answers: the echo sends as much


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Signer:
    """Builds deliveries the way WeChat signs them (plain, or in the safe-mode envelope)."""

    def __init__(self, aes_key: str) -> None:
        self.aes_key = aes_key
        self.crypto = WeChatCrypto(TOKEN, aes_key, APPID) if aes_key else None
        self.msg_id = 10_000_000

    def text(self, openid: str, content: str, msg_id: int | None = None) -> tuple[bytes, dict[str, str], int]:
        """Return (body, signed query, MsgId) of a text message; a given MsgId makes it a retry."""
        if msg_id is None:
            self.msg_id += 1
            msg_id = self.msg_id
        body = {"ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": int(time.time()), "MsgType": "text",
                "Content": content, "MsgId": msg_id}  # fmt: skip
        xml = xmltodict.unparse({"xml": body}, full_document=False)
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        query = {"signature": signature_of(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
        if self.crypto is None:
            return xml.encode(), query, msg_id
        encrypted = PrpCrypto(self.crypto.key).encrypt(xml, APPID).decode()
        query.update(encrypt_type="aes", msg_signature=signature_of(TOKEN, timestamp, nonce, encrypted))
        return f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode(), query, msg_id

    def content(self, response: httpx.Response) -> str:
        assert response.status_code == 200, response.text
        reply = xmltodict.parse(response.text)["xml"]
        if self.crypto is not None:
            inner = self.crypto.decrypt_message(
                response.text, reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"]
            )
            reply = xmltodict.parse(inner)["xml"]
        return str(reply["Content"])


def start_processes(workdir: Path, aes_key: str) -> tuple[list[subprocess.Popen[bytes]], str, str, str]:
    upstream_port, web_port, admin_port, echo_port = free_port(), free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "WECHAT_", "TEXT_SECURITY"))}
    env.update(
        PYTHONPATH=str(ROOT), DATA_DIR=str(workdir / "data"), CHATGATE_ENV="prod", LOG_LEVEL="WARNING",
        OPENAI_ENDPOINT=f"http://127.0.0.1:{upstream_port}", OPENAI_API_KEY="sk-test", OPENAI_MODELS="gpt-4o-mini",
        WECHAT_TOKEN=TOKEN, WECHAT_APPID=APPID, WECHAT_AES_KEY=aes_key, WECHAT_MODE="subscription",
    )  # fmt: skip
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    upstream = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_upstream", "--port", str(upstream_port), "--chunks", "8"], **quiet
    )  # type: ignore[call-overload]
    web = subprocess.Popen(
        [sys.executable, "-m", "chatgate", "serve", "--only", "web", "--port", str(web_port),
         "--admin-port", str(admin_port)], **quiet,
    )  # type: ignore[call-overload]  # fmt: skip
    echo_args = ["--port", str(echo_port), "--token", TOKEN] + (
        ["--aes-key", aes_key, "--appid", APPID] if aes_key else []
    )
    echo = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "wechat_echo.py"), *echo_args], **quiet)  # type: ignore[call-overload]
    for port in (upstream_port, web_port, echo_port):
        wait_port(port)
    return (
        [upstream, web, echo],
        f"http://127.0.0.1:{upstream_port}",
        f"http://127.0.0.1:{web_port}/wechat",
        (f"http://127.0.0.1:{echo_port}/echo"),
    )


def children(pid: int) -> list[int]:
    """Return the processes started by `pid` (the embedded store of `chatgate serve`)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def wait_port(port: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


@dataclass
class Prepared:
    ready: list[tuple[str, str, int]]  # (openid, words, MsgId) of answered messages
    waiting: list[str]  # one openid per answer part waiting for a next message


async def prepare(client: httpx.AsyncClient, signer: Signer, webhook: str, upstream: str, count: int) -> Prepared:
    """Answer `count` messages through the real path (first deliveries) and leave `count` answer parts waiting."""
    ready: list[tuple[str, str, int]] = []
    semaphore = asyncio.Semaphore(8)

    async def first_delivery(index: int) -> None:
        openid = f"o-retry-{index}"
        body, query, msg_id = signer.text(openid, f"question {index}")
        async with semaphore:
            answer = signer.content(await client.post(webhook, params=query, content=body))
        assert answer.startswith("word0"), answer
        ready.append((openid, f"question {index}", msg_id))

    await asyncio.gather(*(first_delivery(index) for index in range(count)))
    await client.post(f"{upstream}/_fake/behaviour", json={"chunks": 1800})  # long answers: many waiting parts
    waiting: list[str] = []
    followers = max(1, count // 5)

    async def long_answer(index: int) -> None:
        openid = f"o-parts-{index}"
        body, query, _ = signer.text(openid, "a long question")
        async with semaphore:
            first = signer.content(await client.post(webhook, params=query, content=body))
        assert first.endswith(CONTINUE), first[-40:]
        waiting.extend([openid] * 5)  # 1800 chunks make more than five parts after the first

    await asyncio.gather(*(long_answer(index) for index in range(followers)))
    return Prepared(ready, waiting[:count])


async def timed(
    client: httpx.AsyncClient, url: str, body: bytes, query: dict[str, str]
) -> tuple[float, httpx.Response]:
    began = time.perf_counter()
    response = await client.post(url, params=query, content=body)
    return (time.perf_counter() - began) * 1000, response


async def run(args: argparse.Namespace) -> None:
    aes_key = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(43)) if args.aes else ""
    signer = Signer(aes_key)
    with tempfile.TemporaryDirectory() as tmp:
        processes, upstream, webhook, echo = start_processes(Path(tmp), aes_key)
        try:
            wait_idle(processes[1].pid)
            async with httpx.AsyncClient(timeout=30) as client:
                prepared = await prepare(client, signer, webhook, upstream, args.messages)
                urls = {"echo": echo, "retry": webhook, "next": webhook}
                await measure(client, signer, urls, prepared, args.rounds, [p.pid for p in processes])
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(15)


LABELS = {"echo": "bare signed-XML echo", "retry": "retry, answer ready", "next": "next message, part waiting"}


async def measure(
    client: httpx.AsyncClient, signer: Signer, urls: dict[str, str], prepared: Prepared, rounds: int, pids: list[int]
) -> None:
    """Time the three paths in alternating slices and print p50 / p99 of each."""
    times: dict[str, list[float]] = {name: [] for name in LABELS}
    cpu: dict[str, float] = dict.fromkeys(LABELS, 0.0)  # server CPU seconds (app + store process) per path
    servers = {"echo": [pids[2]], "retry": [pids[1], *children(pids[1])], "next": [pids[1], *children(pids[1])]}
    size = max(1, len(prepared.ready) // rounds)
    load_before, other = load_average(), ForeignCpu(pids).start()
    for start in range(0, len(prepared.ready), size):
        chunk = range(start, min(start + size, len(prepared.ready)))
        echoes = [signer.text(f"o-echo-{index}", ANSWER) for index in chunk]
        retries = [signer.text(*prepared.ready[index]) for index in chunk]  # WeChat's retry: same message, MsgId
        fetches = [signer.text(prepared.waiting[index], "继续") for index in chunk if index < len(prepared.waiting)]
        for name, deliveries in (("echo", echoes), ("retry", retries), ("next", fetches)):
            before = sum(process_cpu_seconds(pid) for pid in servers[name])
            for body, query, _ in deliveries:
                began = time.perf_counter()
                response = await client.post(urls[name], params=query, content=body)
                times[name].append((time.perf_counter() - began) * 1000)
                assert "word" in signer.content(response)
            cpu[name] += sum(process_cpu_seconds(pid) for pid in servers[name]) - before
    other.stop()
    print(f"WeChat webhook, {'safe mode (AES)' if signer.crypto else 'plain mode'}, one request at a time over "
          f"keep-alive, {rounds} alternating rounds:")  # fmt: skip
    base = statistics.quantiles(times["echo"], n=100)[49]
    for name, values in times.items():
        cuts = statistics.quantiles(values, n=100)
        extra = "" if name == "echo" else f"  (+{cuts[49] - base:.2f} ms p50 over the echo)"
        server_cpu = cpu[name] / len(values) * 1000
        print(f"  {LABELS[name]:<28} n={len(values):<5} p50 {cuts[49]:.2f} ms  p99 {cuts[98]:.2f} ms  "
              f"server CPU {server_cpu:.2f} ms/request{extra}")  # fmt: skip
    print(f"  load average {load_before:.2f} -> {load_average():.2f}; "
          f"other processes used {other.other:.2f} CPU, steal {other.steal:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=1000, help="requests per path")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--aes", action="store_true", help="safe mode: AES envelopes both ways (baseline too)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
