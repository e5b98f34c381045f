"""Telegram bot benchmark: Bot API calls per answer and time to the first visible text, for a 60-chunk answer.

Usage (see benchmarks/README.md):
    .venv/bin/python benchmarks/telegram_stream.py                       # 10 answers per mode, 50 ms per chunk
    .venv/bin/python benchmarks/telegram_stream.py --answers 20 --chunk-delay 0.02 --json /tmp/tg.json

Everything runs in this process on one event loop, as in one `chatgate serve`: an embedded store, the loopback fake
OpenAI upstream (60 content chunks, `--chunk-delay` apart: a model writing ~20 chunks a second), the loopback fake
Bot API server (tests/fakes/telegram_api.py), and the web app with the bot in webhook mode on Hypercorn. Each answer
is one update POSTed to /telegram/webhook by the fake, as Telegram delivers it (secret header, real JSON); the clock
starts just before that POST. One warm-up answer per mode is not counted. "First visible text" is the first
sendMessageDraft / sendMessage / editMessageText carrying answer text that reaches the fake; "done" is the call that
completes the answer. Modes: a private chat with drafts (TELEGRAM_STREAMING=draft, the default), a private chat
with edits (TELEGRAM_STREAMING=edit), and a group question (edits at the group cadence). The production cadence
is used (1 s private, 3 s group).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from channels.telegram import TelegramChannel  # noqa: E402
from chatgate.runtime import build_web_app  # noqa: E402
from core.services import build_services  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.store.connection import connect  # noqa: E402
from core.store.embedded import EmbeddedStore  # noqa: E402
from tests.chat_support import MODEL, add_model, serve_app, set_plan  # noqa: E402
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, text_of  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

CHUNKS = 60
SECRET = "bench-secret"
TEXT_CALLS = ("sendMessageDraft", "sendMessage", "editMessageText")


@dataclass
class ModeResult:
    mode: str
    answers: int
    calls_per_answer: dict[str, float]  # median per method
    total_calls_median: float
    first_visible_ms: list[float] = field(default_factory=list)
    done_ms: list[float] = field(default_factory=list)
    retry_pauses: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        first, done = sorted(self.first_visible_ms), sorted(self.done_ms)
        return {
            "mode": self.mode, "answers": self.answers, "calls": self.calls_per_answer,
            "total_calls": self.total_calls_median,
            "first_visible_ms": {"p50": statistics.median(first), "max": first[-1]},
            "done_ms": {"p50": statistics.median(done), "max": done[-1]},
            "retry_pauses": self.retry_pauses, "errors": self.errors,
        }  # fmt: skip


async def run_mode(mode: str, settings: Settings, store_url: str, fake: FakeTelegram, answers: int) -> ModeResult:
    streaming = "edit" if mode == "private-edit" else "draft"
    current = settings.model_copy(update={"TELEGRAM_STREAMING": streaming})
    services = await build_services(current, connect(store_url))
    channel = TelegramChannel(services)
    app = build_web_app(services, [channel])
    counts: list[Counter[str]] = []
    result = ModeResult(mode, answers, {}, 0)
    try:
        async with serve_app(app) as url:
            fake.state.webhook = {"url": f"{url}/telegram/webhook", "secret_token": SECRET}
            for index in range(answers + 1):  # the first one warms up (tokenizer, scripts, connections): dropped
                chat = 10_000 + index if mode != "group" else -100_500
                user = 10_000 + index
                await _one_answer(fake, channel, chat, user, mode, result, counts)
    finally:
        await channel.telegram.close()
        await services.close()
    del counts[0], result.first_visible_ms[0], result.done_ms[0]
    methods = sorted({method for count in counts for method in count})
    result.calls_per_answer = {method: statistics.median(count[method] for count in counts) for method in methods}
    result.total_calls_median = statistics.median(sum(count.values()) for count in counts)
    result.retry_pauses = len(channel.telegram.sender.retry_pauses)
    result.errors = [f"{method} {code} {text}" for method, code, text in fake.errors]
    return result


async def _one_answer(
    fake: FakeTelegram, channel: TelegramChannel, chat: int, user: int, mode: str, result: ModeResult,
    counts: list[Counter[str]],
) -> None:  # fmt: skip
    if mode == "group":
        update = fake.group_message(chat, user, f"@{fake.username} tell me something")
    else:
        update = fake.private_message(chat, "tell me something")
    before = len(fake.calls)
    started = time.monotonic()
    assert await fake.deliver(update) == 200
    await channel.telegram.drain(grace=120)
    calls = [call for call in fake.calls[before:] if str(call.params.get("chat_id")) == str(chat)]
    shown = [call for call in calls if call.method in TEXT_CALLS and call.params.get("text")]
    result.first_visible_ms.append((shown[0].at - started) * 1000)
    result.done_ms.append((shown[-1].at - started) * 1000)
    counts.append(Counter(call.method for call in calls))
    final = fake.texts(chat)[-1]
    assert final == text_of(CHUNKS).strip(), "the answer did not arrive whole"


async def main(args: argparse.Namespace) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as data:
        embedded = EmbeddedStore(Path(data))
        store_url = await asyncio.to_thread(embedded.start)
        try:
            return await _measure(args, store_url, Path(data))
        finally:
            await asyncio.to_thread(embedded.stop)


async def _measure(args: argparse.Namespace, store_url: str, data: Path) -> list[dict[str, Any]]:
    behaviour = Behaviour(chunks=CHUNKS, chunk_delay=args.chunk_delay)
    async with FakeUpstream(behaviour=behaviour) as upstream, FakeTelegram() as fake:
        store = connect(store_url)
        await add_model(store, [upstream])
        await set_plan(store, {MODEL: (1_000_000, "1m")})
        await store.close()
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            CHATGATE_ENV="test", DATA_DIR=data, REDIS_URL=store_url, OPENAI_ENDPOINT="http://127.0.0.1:9",
            TELEGRAM_MODE="webhook", TELEGRAM_WEBHOOK_SECRET=SecretStr(SECRET), **fake.settings_update(),
        )  # fmt: skip
        summaries = []
        for mode in args.modes:
            fake.calls.clear()
            fake.errors.clear()
            result = await run_mode(mode, settings, store_url, fake, args.answers)
            summaries.append(result.summary())
            print(_line(result.summary()), flush=True)
        return summaries


def _line(summary: dict[str, Any]) -> str:
    calls = ", ".join(f"{method} {count:g}" for method, count in summary["calls"].items())
    return (
        f"{summary['mode']:<13} answers {summary['answers']:>3}  Bot API calls/answer {summary['total_calls']:g} "
        f"({calls})  first visible text p50 {summary['first_visible_ms']['p50']:.1f} ms "
        f"(max {summary['first_visible_ms']['max']:.1f})  complete p50 {summary['done_ms']['p50']:.0f} ms  "
        f"429 pauses {summary['retry_pauses']}  errors {len(summary['errors'])}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=10, help="answers per mode")
    parser.add_argument("--chunk-delay", type=float, default=0.05, help="seconds between the upstream's chunks")
    parser.add_argument("--modes", nargs="+", default=["private-draft", "private-edit", "group"])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    arguments = parser.parse_args()
    figures = asyncio.run(main(arguments))
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=2))
        print(f"wrote {arguments.json}")
