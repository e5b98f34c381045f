"""The official account's metrics through `GET /metrics`: a follower's message counts once in however often WeChat
delivers it, and every message sent back (passive replies, customer-service pushes) counts out; the webhook
request's id goes with the message's job to the upstream."""

from __future__ import annotations

from tests.channels.wechat.conftest import WorldFactory
from tests.chat_support import eventually
from tests.fakes.openai_upstream import FakeUpstream, text_of
from tests.fakes.wechat import wait_for
from tests.metrics_support import labelled, scrape

IN = labelled("chatgate_channel_messages_total", channel="wechat", direction="in")
OUT = labelled("chatgate_channel_messages_total", channel="wechat", direction="out")


async def test_passive_replies_count_each_message_once_in(wechat_world: WorldFactory, upstream: FakeUpstream) -> None:
    world = await wechat_world()
    fake = world.fake
    assert (await fake.send_text("o-alice", "hello")).reply == text_of(8).strip()
    assert (await fake.send_text("o-alice", "帮助")).reply
    repeated = fake.message_xml("o-alice", "text", {"Content": "once more"})
    first, again = await fake.deliver(repeated, "o-alice"), await fake.deliver(repeated, "o-alice")
    assert first.reply == again.reply == text_of(8).strip()  # WeChat's retry of an answered message
    assert (await fake.send_event("o-alice", "VIEW", "https://example.com")).reply is None  # nothing to count
    seen = await scrape(world.services[0])
    assert (seen[IN], seen[OUT]) == (3, 4)
    assert len(upstream.chat_requests) == 2


async def test_service_mode_counts_each_push_out(wechat_world: WorldFactory, upstream: FakeUpstream) -> None:
    world = await wechat_world(processes=2, WECHAT_MODE="service")
    exchange = await world.fake.send_text("o-bob", "hello")
    assert exchange.reply is None  # acknowledged; the answer is pushed
    assert await wait_for(lambda: bool(world.fake.pushed.get("o-bob")), 10)

    async def counted() -> bool:  # the push is counted once WeChat's answer to it is read
        return (await scrape(*world.services)).get(OUT) == 1

    assert await eventually(counted, 5)
    assert (await scrape(*world.services))[IN] == 1


async def test_the_webhook_requests_id_follows_the_message_to_the_upstream(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world(processes=1, WECHAT_MODE="service")  # answered in a job, after the request ended
    await world.fake.send_text("o-carol", "hello")
    assert await wait_for(lambda: bool(upstream.chat_requests), 10)
    sent = {name.lower(): value for name, value in upstream.chat_requests[-1].headers.items()}
    assert sent["x-request-id"].startswith("req_")  # the id the webhook request was given, not none
