"""Polling mode: updates come through getUpdates from the fake and are answered; one process polls at a time, and
another takes over when it stops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from tests.channels.telegram.conftest import BotProcess, MakeBot
from tests.chat_support import eventually
from tests.fakes.openai_upstream import FakeUpstream, text_of
from tests.fakes.telegram_api import FakeTelegram

CHAT = 6161


@contextlib.asynccontextmanager
async def running(process: BotProcess) -> AsyncIterator[asyncio.Task[None]]:
    """Run the process's runners (the poller) in the background, as `chatgate serve` does."""
    (runner,) = process.channel.runners()
    task = asyncio.ensure_future(runner())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_polling_answers_updates_and_a_second_process_does_not_poll_meanwhile(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot
) -> None:
    fake.state.webhook = {"url": "https://old.example/telegram/webhook"}  # left from an earlier webhook set-up
    first, second = await make_bot(mode="polling"), await make_bot(mode="polling")
    async with running(first) as first_task:
        assert await eventually(lambda: _polled(fake, 1), seconds=10)
        async with running(second):
            fake.push_update(fake.private_message(CHAT, "hello"))
            assert await eventually(lambda: _answered(fake, 1), seconds=10)
            await asyncio.sleep(1.5)  # a few more long polls and lease renewals while both run
            assert fake.max_concurrent_polls == 1 and fake.conflicts == 0
            first_task.cancel()  # the poller stops (a deploy, a crash): the other one takes over
            await asyncio.gather(first_task, return_exceptions=True)
            fake.push_update(fake.private_message(CHAT, "again"))
            assert await eventually(lambda: _answered(fake, 2), seconds=10)
    assert fake.max_concurrent_polls == 1 and fake.conflicts == 0
    assert fake.state.webhook is None  # polling deleted the webhook (the two exclude each other)
    assert fake.texts(CHAT) == [text_of(8).strip()] * 2
    assert len(upstream.chat_requests) == 2  # each update answered once


async def test_an_update_a_dead_poller_never_confirmed_is_answered_once(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot
) -> None:
    bot = await make_bot(mode="polling")
    update = fake.private_message(CHAT, "hello")
    assert await bot.handle(update)  # taken and answered, but never confirmed to Telegram
    fake.push_update(update)  # so Telegram hands it to the next poller
    async with running(await make_bot(mode="polling")):
        assert await eventually(lambda: _polled(fake, 2), seconds=10)
    assert len(upstream.chat_requests) == 1 and len(fake.texts(CHAT)) == 1


async def _polled(fake: FakeTelegram, times: int) -> bool:
    return len(fake.calls_to("getUpdates")) >= times


async def _answered(fake: FakeTelegram, count: int) -> bool:
    return len(fake.texts(CHAT)) >= count
