"""Channel identities: one account per identity under races; binding moves it atomically and folds what it leaves."""

from __future__ import annotations

import asyncio

import pytest

from core.accounts.channel_identities import (
    account_of,
    bind_identity,
    bind_with_code,
    finish_merges,
    identify,
    issue_bind_code,
)
from core.accounts.users import get_user
from core.billing.subscriptions import add_subscription, current_plan, list_subscriptions
from core.chat.conversations import (
    create_conversation,
    current_conversation,
    list_conversations,
    set_current_conversation,
)
from core.chat.messages import append_message, get_messages, new_message
from core.errors import InvalidBindCode, InvalidInput, TooManyAttempts
from core.settings import Settings
from core.store.connection import Store
from tests.chat_support import new_user, set_plan

T0 = 1_700_000_000.0
DAY = 86_400


async def test_first_contact_creates_one_account_even_when_raced(store: Store, settings: Settings) -> None:
    users = await asyncio.gather(*(identify(store, settings, "wechat", "o-abc", now=T0) for _ in range(20)))
    assert len({user.id for user in users}) == 1
    user = users[0]
    assert (user.email, user.phone, user.password_hash, user.blocked) == ("", "", "", False)
    assert user.invite_code  # a bot user can invite too
    assert (await account_of(store, "wechat", "o-abc")) == user
    assert await store.redis.hgetall(store.keys.channel_identities(user.id)) == {"wechat": "o-abc"}
    assert (await current_plan(store, user.id, T0)).name == "free"
    again = await identify(store, settings, "wechat", "o-abc", now=T0 + 5)
    assert again.id == user.id
    other = await identify(store, settings, "telegram", "o-abc", now=T0)  # same id, another channel: another person
    assert other.id != user.id


async def test_bad_channel_or_identity_is_refused(store: Store, settings: Settings) -> None:
    for channel, external_id in (("web", "x"), ("sms", "x"), ("wechat", ""), ("wechat", "a\nb"), ("wechat", "x" * 200)):
        with pytest.raises(InvalidInput):
            await identify(store, settings, channel, external_id, now=T0)


async def test_binding_folds_the_channel_account_into_the_web_account(store: Store, settings: Settings) -> None:
    await set_plan(store, {"m": (5, "1h")})
    await set_plan(store, {"m": (50, "1h")}, name="pro")
    web = await new_user(store, settings)
    bot = await identify(store, settings, "telegram", "42", now=T0)
    conversation = await create_conversation(store, bot.id, model="m", channel="telegram", now=T0)
    await append_message(store, bot.id, conversation.id, new_message("user", "hello from telegram", T0))
    await set_current_conversation(store, bot.id, "telegram", conversation.id)
    await add_subscription(store, bot.id, "pro", 10 * DAY, T0, order_id="redeemed-in-telegram")

    bound = await bind_identity(store, "telegram", "42", web.id, now=T0 + DAY)

    assert bound.id == web.id and (await account_of(store, "telegram", "42")) == bound
    assert [c.id for c in await list_conversations(store, web.id)] == [conversation.id]
    assert [m.content for m in await get_messages(store, web.id, conversation.id)] == ["hello from telegram"]
    assert (current := await current_conversation(store, web.id, "telegram")) is not None
    assert current.id == conversation.id
    moved = await list_subscriptions(store, web.id)
    assert [(s.plan, s.ends_at - s.starts_at) for s in moved] == [("pro", 9 * DAY)]  # the paid time left, once
    assert (await current_plan(store, web.id, T0 + DAY + 1)).name == "pro"
    retired = await get_user(store, bot.id)
    assert retired is not None and retired.blocked
    assert await list_conversations(store, bot.id) == [] and await list_subscriptions(store, bot.id) == []
    assert await store.redis.hgetall(store.keys.channel_identities(web.id)) == {"telegram": "42"}
    # Folding again (a retried bind) changes nothing and credits nothing twice.
    await store.redis.sadd(store.keys.merging(web.id), bot.id)
    await finish_merges(store, web.id, T0 + DAY)
    assert len(await list_subscriptions(store, web.id)) == 1
    assert len(await list_conversations(store, web.id)) == 1


async def test_a_fold_interrupted_after_the_move_is_finished_on_next_contact(store: Store, settings: Settings) -> None:
    web = await new_user(store, settings)
    bot = await identify(store, settings, "wechat", "o-1", now=T0)
    conversation = await create_conversation(store, bot.id, model="m", channel="wechat", now=T0)
    # The identity moved and the fold was recorded, then the process died before folding.
    await store.redis.sadd(store.keys.merging(web.id), bot.id)
    await store.redis.set(store.keys.channel_identity("wechat", "o-1"), web.id)
    user = await identify(store, settings, "wechat", "o-1", now=T0 + 1)
    assert user.id == web.id
    assert [c.id for c in await list_conversations(store, web.id)] == [conversation.id]
    assert not await store.redis.exists(store.keys.merging(web.id))


async def test_rebinding_from_one_web_account_to_another_moves_only_the_identity(
    store: Store, settings: Settings
) -> None:
    first = await new_user(store, settings, email="first@example.com")
    second = await new_user(store, settings, email="second@example.com")
    await bind_identity(store, "wechat", "o-9", first.id, now=T0)
    conversation = await create_conversation(store, first.id, model="m", channel="web", now=T0)
    await bind_identity(store, "wechat", "o-9", second.id, now=T0 + 1)
    assert (await account_of(store, "wechat", "o-9")) == second
    assert [c.id for c in await list_conversations(store, first.id)] == [conversation.id]  # a web account keeps its own
    assert not (await get_user(store, first.id) or first).blocked
    assert await store.redis.hgetall(store.keys.channel_identities(first.id)) == {}


async def test_bind_codes_are_single_use_and_cannot_be_guessed(store: Store, settings: Settings) -> None:
    web = await new_user(store, settings)
    old_code = await issue_bind_code(store, settings, web.id)
    code = await issue_bind_code(store, settings, web.id)
    assert len(code) == 8 and code.isdigit() and code != old_code
    with pytest.raises(InvalidBindCode):
        await bind_with_code(store, settings, "wechat", "o-2", old_code, now=T0)  # replaced by the new one
    assert (await bind_with_code(store, settings, "wechat", "o-2", f" {code} ", now=T0)).id == web.id
    with pytest.raises(InvalidBindCode):
        await bind_with_code(store, settings, "wechat", "o-3", code, now=T0)  # used
    for _ in range(settings.BIND_MAX_FAILS - 1):
        with pytest.raises(InvalidBindCode):
            await bind_with_code(store, settings, "wechat", "o-3", "00000000", now=T0)
    fresh = await issue_bind_code(store, settings, web.id)
    with pytest.raises(TooManyAttempts):  # even the right code: this identity has guessed too often
        await bind_with_code(store, settings, "wechat", "o-3", fresh, now=T0)
