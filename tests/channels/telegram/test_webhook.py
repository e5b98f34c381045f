"""Webhook mode: the secret header guards `POST /telegram/webhook`; an update delivered twice, to two processes, is
handled once; the webhook and the menu are set on start."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from quart import Quart

from chatgate.runtime import build_web_app
from tests.channels.telegram.conftest import SECRET, BotProcess, MakeBot
from tests.chat_support import serve_app
from tests.fakes.openai_upstream import FakeUpstream, text_of
from tests.fakes.telegram_api import FakeTelegram

CHAT = 5151
PATH = "/telegram/webhook"


@contextlib.asynccontextmanager
async def web_app(process: BotProcess) -> AsyncIterator[Quart]:
    app = build_web_app(process.services, [process.channel])
    async with app.test_app():
        yield app


async def test_a_wrong_or_missing_secret_gets_401_and_nothing_runs(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot
) -> None:
    bot = await make_bot(mode="webhook")
    async with web_app(bot) as app:
        client = app.test_client()
        update = fake.private_message(CHAT, "hello")
        for headers in ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {}):
            response = await client.post(PATH, json=update, headers=headers)
            assert response.status_code == 401
        await bot.channel.telegram.drain()
    assert not fake.calls and not upstream.requests
    store = bot.services.store
    assert await store.redis.get(store.keys.channel_identity("telegram", str(CHAT))) is None  # no account made
    assert await store.redis.get(store.keys.telegram_update(update["update_id"])) is None  # not even claimed


async def test_the_same_update_to_two_processes_is_handled_once(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot
) -> None:
    first, second = await make_bot(mode="webhook"), await make_bot(mode="webhook")
    update = fake.private_message(CHAT, "hello")
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with web_app(first) as app_one, web_app(second) as app_two:
        responses = await asyncio.gather(
            *(app.test_client().post(PATH, json=update, headers=headers) for app in (app_one, app_two, app_one))
        )
        assert [response.status_code for response in responses] == [200, 200, 200]
        await asyncio.gather(first.channel.telegram.drain(), second.channel.telegram.drain())
    assert len(upstream.chat_requests) == 1
    assert fake.texts(CHAT) == [text_of(8).strip()]


async def test_bad_bodies_are_refused(fake: FakeTelegram, make_bot: MakeBot) -> None:
    bot = await make_bot(mode="webhook")
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with web_app(bot) as app:
        client = app.test_client()
        assert (await client.post(PATH, data=b"{not json", headers=headers)).status_code == 400
        assert (await client.post(PATH, json=[1, 2], headers=headers)).status_code == 400
        ignored = await client.post(PATH, json={"message": {}}, headers=headers)  # no update_id: nothing to do
        assert ignored.status_code == 200
    assert not fake.calls


async def test_on_start_the_webhook_and_menu_are_set_and_telegram_delivers_to_it(
    fake: FakeTelegram, make_bot: MakeBot
) -> None:
    bot = await make_bot(mode="webhook")
    app = build_web_app(bot.services, [bot.channel])
    async with serve_app(app) as url:
        bot.services.settings.DOMAIN = url  # where this test's server listens
        for runner in bot.channel.runners():
            await runner()
        assert fake.state.webhook is not None
        assert fake.state.webhook["url"] == f"{url}{PATH}" and fake.state.webhook["secret_token"] == SECRET
        assert fake.state.webhook["allowed_updates"] == ["message", "callback_query"]
        assert await fake.deliver(fake.private_message(CHAT, "/help")) == 200
        assert await fake.deliver(fake.private_message(CHAT, "/help"), secret="forged") == 401
        await bot.channel.telegram.drain()
    assert len(fake.texts(CHAT)) == 1 and "/redeem" in fake.texts(CHAT)[0]
    menus = fake.state.commands
    assert {key[1] for key in menus} == {"", "zh", "en"}
    assert [c["command"] for c in menus[("default", "en")]] == [
        "new", "model", "usage", "plan", "redeem", "bind", "notice", "help",
    ]  # fmt: skip
    assert menus[("default", "zh")][0]["description"] == "开始新对话"
    assert menus[("default", "")] == menus[("default", "zh")]  # DEFAULT_LANGUAGE is zh-CN
    store = bot.services.store
    assert await store.redis.get(store.keys.bot_name("telegram")) == fake.username


async def test_a_refused_webhook_set_up_is_reported_once_not_retried_forever(
    fake: FakeTelegram, make_bot: MakeBot, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail_next("setWebhook", 400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    bot = await make_bot(mode="webhook")
    for runner in bot.channel.runners():
        await asyncio.wait_for(runner(), timeout=5)
    assert len(fake.calls_to("setWebhook")) == 1
    assert "An HTTPS URL must be provided" in caplog.text
