"""The bot's metrics through `GET /metrics`: messages in (those addressed to the bot, once however often Telegram
delivers them) and out (each message the bot sends), and its users' quota denials and moderation blocks; the
request id of a polled update, sent on to the upstream."""

from __future__ import annotations

from core.logs import request_id
from core.moderation.keywords import add_words
from tests.channels.telegram.conftest import MakeBot
from tests.chat_support import MODEL
from tests.fakes.openai_upstream import FakeUpstream
from tests.fakes.telegram_api import FakeTelegram
from tests.metrics_support import labelled, scrape

CHAT = 8181
GROUP = -1008181
MESSAGES = "chatgate_channel_messages_total"


async def test_messages_in_and_out_and_the_refusals_of_telegram_users(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot
) -> None:
    bot = await make_bot(TEXT_SECURITY=["keywords"])
    await add_words(bot.services.store, ["forbidden"])
    await bot.handle(fake.private_message(CHAT, "/help"))
    for _ in range(3):  # the free plan allows 3 an hour
        await bot.handle(fake.private_message(CHAT, "hello"))
    await bot.handle(fake.private_message(CHAT, "one too many"))
    await bot.handle(fake.private_message(CHAT, "something forbidden"))
    again = fake.private_message(CHAT, "/usage")
    assert await bot.handle(again) and not await bot.handle(again)  # a redelivery is handled, and counted, once
    await bot.handle(fake.group_message(GROUP, CHAT, "chatter the bot is not asked about"))  # taken, not counted
    assert len(upstream.chat_requests) == 3
    seen = await scrape(bot.services)
    assert seen[labelled(MESSAGES, channel="telegram", direction="in")] == 7
    sent = len(fake.calls_to("sendMessage"))
    assert sent >= 7 and seen[labelled(MESSAGES, channel="telegram", direction="out")] == sent
    denied = labelled("chatgate_quota_denials_total", channel="telegram", model=MODEL, reason="rate_limit_exceeded")
    assert seen[denied] == 1
    blocked = labelled("chatgate_moderation_blocks_total", channel="telegram", direction="input", provider="keywords")
    assert seen[blocked] == 1
    assert seen[labelled("chatgate_active_streams", channel="telegram")] == 0


async def test_a_polled_update_gets_a_request_id_that_reaches_the_upstream(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot
) -> None:
    bot = await make_bot()
    assert request_id.get() == "-"  # as in the poller's task: no HTTP request around it
    await bot.handle(fake.private_message(CHAT, "hello"))
    sent = {name.lower(): value for name, value in upstream.chat_requests[-1].headers.items()}
    assert sent["x-request-id"].startswith("req_")
    assert request_id.get() == "-"  # set for that update's task only
