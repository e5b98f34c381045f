"""Service mode: every delivery is acknowledged at once, answers are pushed through the customer-service API in
order, and all processes share one access token, refreshed by one of them at a time."""

from __future__ import annotations

import asyncio

from pydantic import SecretStr

from channels.wechat.api import WeChatApi, WeChatApiError
from tests.channels.wechat.conftest import WorldFactory
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, text_of
from tests.fakes.wechat import wait_for

SERVICE = {"WECHAT_MODE": "service"}
CONTINUE = "（回复任意内容继续）"


async def test_acknowledged_at_once_and_the_answer_is_pushed(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world(processes=2, **SERVICE)
    upstream.behaviour = Behaviour(hang=3.0)
    exchange = await world.fake.send_text("o-alice", "a slow question")
    assert exchange.reply is None and len(exchange.tries) == 1  # `success` at once: no retry
    assert exchange.tries[0].body == b"success" and exchange.tries[0].elapsed < 1.5  # not waiting for the answer
    assert not world.fake.pushed
    assert await wait_for(lambda: bool(world.fake.pushed.get("o-alice")), 10)
    assert world.fake.pushed["o-alice"] == [text_of(8).strip()]
    assert len(upstream.chat_requests) == 1 and world.fake.token_requests == 1


async def test_a_long_answer_is_pushed_in_order_five_messages_per_user_message(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world(processes=2, **SERVICE)
    upstream.behaviour = Behaviour(chunks=1700)  # about 13 KB: more than five messages
    pushed = world.fake.pushed.setdefault("o-alice", [])
    await world.fake.send_text("o-alice", "tell me everything")
    assert await wait_for(lambda: len(pushed) == 5, 10)
    assert pushed[-1].endswith(CONTINUE) and not any(part.endswith(CONTINUE) for part in pushed[:4])
    await world.fake.send_text("o-alice", "继续")
    assert await wait_for(lambda: len(pushed) > 5 and not pushed[-1].endswith(CONTINUE), 10)
    await asyncio.sleep(0.2)  # nothing else arrives
    assert all(len(part.encode()) <= 2048 for part in pushed)
    joined = " ".join(part.removesuffix(CONTINUE).strip() for part in pushed)
    assert joined == text_of(1700).strip()
    assert len(upstream.chat_requests) == 1 and not world.fake.api_errors


async def test_two_processes_fetch_the_access_token_once(wechat_world: WorldFactory) -> None:
    world = await wechat_world(processes=2, **SERVICE)
    apis = [WeChatApi(services.settings, services.store, services.http) for services in world.services * 4]
    tokens = await asyncio.gather(*(api.access_token() for api in apis))
    assert len(set(tokens)) == 1 and world.fake.token_requests == 1
    for index in range(6):  # messages to both processes: still the one token
        world.fake.allowance[f"o-{index}"] = (5, 1e12)
    await asyncio.gather(*(apis[index % 2].send_text(f"o-{index}", "hi") for index in range(6)))
    assert world.fake.token_requests == 1 and len(world.fake.pushed) == 6


async def test_an_expired_token_is_refreshed_once_and_the_push_goes_through(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world(processes=2, **SERVICE)
    await world.fake.send_text("o-alice", "first")
    assert await wait_for(lambda: len(world.fake.pushed.get("o-alice", [])) == 1)
    world.fake.expire_tokens()
    await asyncio.gather(world.fake.send_text("o-alice", "second"), world.fake.send_text("o-bob", "hi"))
    assert await wait_for(lambda: len(world.fake.pushed.get("o-alice", [])) == 2 and "o-bob" in world.fake.pushed)
    assert world.fake.token_requests == 2
    assert [error["errcode"] for error in world.fake.api_errors] in ([42001], [42001, 42001])


async def test_a_refused_token_is_reported_and_nothing_crashes(
    wechat_world: WorldFactory, upstream: FakeUpstream, caplog
) -> None:  # type: ignore[no-untyped-def]
    world = await wechat_world(WECHAT_APPSECRET=SecretStr("not-the-secret"), **SERVICE)
    exchange = await world.fake.send_text("o-alice", "hello")
    assert exchange.reply is None
    assert await wait_for(lambda: any("40125" in record.getMessage() for record in caplog.records))
    assert not world.fake.pushed
    assert "not-the-secret" not in caplog.text
    api = WeChatApi(world.settings, world.store, world.services[0].http)
    try:
        await api.access_token()
    except WeChatApiError as error:
        assert error.errcode == 40125
    else:
        raise AssertionError("a wrong secret must be refused")


async def test_an_unfollowed_user_gets_nothing_and_the_process_carries_on(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world(**SERVICE)
    world.fake.allowance["o-gone"] = (5, 1e12)
    world.fake.unfollowed.add("o-gone")
    await world.fake.send_text("o-gone", "hello")
    assert await wait_for(lambda: any(error["errcode"] == 43004 for error in world.fake.api_errors))
    world.fake.unfollowed.discard("o-gone")
    await world.fake.send_text("o-gone", "again")
    assert await wait_for(lambda: len(world.fake.pushed.get("o-gone", [])) == 1)
