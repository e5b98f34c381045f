"""Subscription mode: WeChat's retries are held while the answer is computed, on any process; an answer not ready by
the last retry is handed over on the next message; long answers come in parts of at most 2048 bytes, in order.

The tests about slow answers scale WeChat's 5-second timeout to FAST_TIMEOUT (1 s) on both sides (the rules are the
same); one runs at WeChat's real timing.
"""

from __future__ import annotations

import asyncio

from core.accounts.channel_identities import account_of
from core.chat.conversations import current_conversation
from core.chat.messages import get_messages
from core.store.connection import Store
from tests.channels.wechat.conftest import FAST_TIMEOUT, WorldFactory
from tests.chat_support import eventually
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, text_of

STILL_THINKING = "回答还在生成中，请稍后回复任意内容获取回答。"
CONTINUE = "（回复任意内容继续）"


async def saved(store: Store, openid: str) -> list[tuple[str, str]]:
    """Return (role, content) of the follower's current WeChat conversation."""
    user = await account_of(store, "wechat", openid)
    assert user is not None
    conversation = await current_conversation(store, user.id, "wechat")
    assert conversation is not None
    return [(m.role, m.content) for m in await get_messages(store, user.id, conversation.id)]


async def test_a_slow_answer_is_held_across_two_processes_and_answered_on_a_retry(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world(processes=2, timeout=FAST_TIMEOUT)
    upstream.behaviour = Behaviour(hang=FAST_TIMEOUT * 1.6)  # longer than WeChat waits for the first try
    exchange = await world.fake.send_text("o-alice", "a slow question")
    assert exchange.reply == text_of(8).strip()
    assert exchange.tries[0].status is None and len(exchange.tries) in (2, 3)  # the first try timed out
    assert {attempt.target for attempt in exchange.tries} == set(world.fake.targets)  # alternately, both processes
    assert len(upstream.chat_requests) == 1
    await asyncio.sleep(FAST_TIMEOUT)  # the first process's held request ends in silence
    assert len(upstream.chat_requests) == 1
    assert await saved(world.store, "o-alice") == [("user", "a slow question"), ("assistant", text_of(8))]
    upstream.behaviour = Behaviour(chunks=3)
    following = await world.fake.send_text("o-alice", "and now?")  # a new answer: the first was delivered once
    assert following.reply == text_of(3).strip() and len(upstream.chat_requests) == 2


async def test_an_answer_not_ready_by_the_last_retry_comes_with_the_next_message(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world(processes=2, timeout=FAST_TIMEOUT)
    upstream.behaviour = Behaviour(hang=FAST_TIMEOUT * 3.6)  # past the third try's window
    first = await world.fake.send_text("o-alice", "a very slow question")
    assert first.reply == STILL_THINKING and len(first.tries) == 3

    async def answered() -> bool:
        return upstream.completed >= 1

    assert await eventually(answered, FAST_TIMEOUT * 3)
    upstream.behaviour = Behaviour()
    fetched = await world.fake.send_text("o-alice", "好了吗？")
    assert fetched.reply == text_of(8).strip()
    assert len(upstream.chat_requests) == 1  # "好了吗？" only fetched the answer
    upstream.behaviour = Behaviour(chunks=3)
    following = await world.fake.send_text("o-alice", "next question")  # the handed-over answer is not repeated
    assert following.reply == text_of(3).strip() and len(upstream.chat_requests) == 2
    roles = [role for role, _ in await saved(world.store, "o-alice")]
    assert roles == ["user", "assistant", "user", "assistant"]


async def test_the_next_message_waits_for_an_answer_still_being_computed(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world(processes=2, timeout=FAST_TIMEOUT)
    upstream.behaviour = Behaviour(hang=FAST_TIMEOUT * 3.5)
    first = await world.fake.send_text("o-alice", "slow")
    assert first.reply == STILL_THINKING
    fetched = await world.fake.send_text("o-alice", "?")  # sent at once: the answer is still on its way
    assert fetched.reply == text_of(8).strip()
    assert len(upstream.chat_requests) == 1


async def test_a_long_answer_arrives_in_parts_of_at_most_2048_bytes_in_order(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world(processes=2)
    upstream.behaviour = Behaviour(chunks=900)  # about 7 KB of text
    parts = [(await world.fake.send_text("o-alice", "tell me everything")).reply]
    while parts[-1] and parts[-1].endswith(CONTINUE):
        parts.append((await world.fake.send_text("o-alice", "继续")).reply)
    assert len(parts) >= 4
    assert all(part is not None and len(part.encode()) <= 2048 for part in parts)
    assert not parts[-1].endswith(CONTINUE)  # type: ignore[union-attr]
    joined = " ".join(part.removesuffix(CONTINUE).strip() for part in parts)  # type: ignore[union-attr]
    assert joined == text_of(900).strip()
    assert len(upstream.chat_requests) == 1  # "继续" fetched the parts; it never reached the model
    after = await world.fake.send_text("o-alice", "thanks")  # nothing waits any more: a new question
    assert after.reply is not None and after.reply.startswith("word0") and len(upstream.chat_requests) == 2


async def test_one_model_call_when_processes_receive_the_same_message_at_once(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world(processes=3)
    upstream.behaviour = Behaviour(hang=0.3)
    fake = world.fake
    body = fake.message_xml("o-alice", "text", {"Content": "duplicated"}).encode()
    fake.allowance["o-alice"] = (5, 1e12)
    tries = await asyncio.gather(*(fake.post(body, fake.signed_query("o-alice"), target) for target in fake.targets))
    assert [attempt.status for attempt in tries] == [200, 200, 200]
    assert len(upstream.chat_requests) == 1
    replies = {attempt.body for attempt in tries}
    assert len(replies) == 1 or all(b"word0" in reply for reply in replies)  # each answers with the one answer
    assert [role for role, _ in await saved(world.store, "o-alice")] == ["user", "assistant"]


async def test_wechats_real_timing_five_seconds_three_tries(wechat_world: WorldFactory, upstream: FakeUpstream) -> None:
    """At WeChat's own 5-second timeout: an answer that takes 6 s arrives on the second try."""
    world = await wechat_world(processes=2)
    assert world.fake.timeout == world.settings.WECHAT_TIMEOUT_SECONDS == 5.0
    upstream.behaviour = Behaviour(hang=6.0)
    exchange = await world.fake.send_text("o-alice", "take your time")
    assert exchange.reply == text_of(8).strip()
    assert [attempt.status for attempt in exchange.tries] == [None, 200]
    assert 4.9 < exchange.tries[0].elapsed < 5.5 and exchange.tries[1].elapsed < 4.5
    assert len(upstream.chat_requests) == 1
