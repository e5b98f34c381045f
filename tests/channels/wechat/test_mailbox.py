"""The message state in the store: retried events are answered once, and a job whose process died is finished with
an apology instead of being waited for forever."""

from __future__ import annotations

import re
import time

from channels.wechat.mailbox import LOST_AFTER_SECONDS, Mailbox
from tests.channels.wechat.conftest import WorldFactory
from tests.fakes.openai_upstream import FakeUpstream

LOST = "抱歉，之前那条消息的回答没有生成出来，请重新发送。"


async def test_a_retried_event_is_handled_once(wechat_world: WorldFactory) -> None:
    world = await wechat_world()
    fake, store = world.fake, world.store
    body = fake.message_xml("o-carol", "event", {"Event": "subscribe"}, event=True).encode()
    first = await fake.post(body, fake.signed_query("o-carol"))
    subscribed_at = await store.redis.zscore(store.keys.wechat_followers(), "o-carol")
    again = await fake.post(body, fake.signed_query("o-carol"))  # WeChat's retry: same sender and CreateTime
    assert first.status == again.status == 200 and b"ChatGate" in first.body
    assert _without_time(first.body) == _without_time(again.body)  # each reply is stamped when it is sent
    assert await store.redis.zscore(store.keys.wechat_followers(), "o-carol") == subscribed_at


def _without_time(reply: bytes) -> bytes:
    return re.sub(rb"<CreateTime>\d+</CreateTime>", b"", reply)


async def test_a_job_lost_with_its_process_is_finished_with_an_apology(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world()
    fake, mailbox = world.fake, Mailbox(world.store)
    body = fake.message_xml("o-alice", "text", {"Content": "hello"})
    msg_id = body.split("<MsgId>")[1].split("</MsgId>")[0]
    # The first delivery reached a process that died before answering: counted, no job lease.
    await mailbox.arrive("o-alice", msg_id, may_fetch=True, now=time.time() - LOST_AFTER_SECONDS - 1)
    retry = await fake.post(body.encode(), fake.signed_query("o-alice"))
    assert retry.status == 200 and LOST.encode() in retry.body
    assert not upstream.requests


async def test_a_promised_answer_lost_with_its_process_does_not_block_the_next_message(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world()
    mailbox = Mailbox(world.store)
    await mailbox.arrive("o-alice", "41", may_fetch=True, now=time.time() - LOST_AFTER_SECONDS - 1)
    assert await mailbox.give_up("o-alice", "41") is None  # "still thinking" was sent; then the process died
    fetched = await world.fake.send_text("o-alice", "好了吗？")
    assert fetched.reply == LOST and len(fetched.tries) == 1
    assert not await mailbox.waiting("o-alice")
    following = await world.fake.send_text("o-alice", "hello")  # and the follower is back to normal
    assert following.reply is not None and following.reply.startswith("word0")
