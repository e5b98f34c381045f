"""The bot as a Telegram user meets it: binding with /start, quota and moderation refusals, the /model keyboard,
/usage, /redeem, groups (mention or reply; charged to whoever asked), other kinds of message, blocked accounts."""

from __future__ import annotations

from core.accounts.channel_identities import account_of, issue_bind_code
from core.accounts.users import set_blocked
from core.billing.plans import get_plan
from core.billing.quotas import consume_quota
from core.billing.redemption import generate_codes
from core.chat.conversations import list_conversations
from core.moderation.keywords import add_words
from tests.channels.conftest import OTHER_MODEL
from tests.channels.telegram.conftest import MakeBot
from tests.chat_support import MODEL, new_user, set_plan, usage_totals, window_count
from tests.fakes.openai_upstream import FakeUpstream, text_of
from tests.fakes.telegram_api import FakeTelegram

CHAT = 7171
GROUP = -1007171


async def test_start_with_a_bind_code_shares_usage_and_quota_with_the_web(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot
) -> None:
    bot = await make_bot()
    store, settings, now = bot.services.store, bot.services.settings, bot.services.clock()
    web = await new_user(store, settings)
    code = await issue_bind_code(store, settings, web.id)
    await bot.handle(fake.private_message(CHAT, f"/start {code}"))
    assert "a***@example.com" in fake.texts(CHAT)[-1]
    assert (await account_of(store, "telegram", str(CHAT))).id == web.id  # type: ignore[union-attr]
    plan = await get_plan(store, "free")
    assert plan is not None
    await consume_quota(store, web.id, plan, MODEL, now)  # one message on the web
    await bot.handle(fake.private_message(CHAT, "hello from telegram"))
    assert await window_count(store, web.id) == 2  # one quota for both
    assert (await usage_totals(store, web.id, now))[0] == 1  # the Telegram answer is in the web account's usage
    await bot.handle(fake.private_message(CHAT, "/usage"))
    assert f"{MODEL}: 1/3 left (per 1 h)" in fake.texts(CHAT)[-1]


async def test_quota_exhausted_and_moderation_block_answer_and_charge_nothing(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot
) -> None:
    bot = await make_bot(TEXT_SECURITY=["keywords"])
    await add_words(bot.services.store, ["forbidden"])
    await bot.handle(fake.private_message(CHAT, "say something forbidden", language_code="zh-hans"))
    assert fake.texts(CHAT)[-1] == "内容未通过审核。"
    assert not upstream.chat_requests
    for _ in range(3):
        await bot.handle(fake.private_message(CHAT, "hello"))
    await bot.handle(fake.private_message(CHAT, "one too many"))
    refusal = fake.texts(CHAT)[-1]
    assert (
        refusal.startswith("已达到套餐对此模型的使用上限。 请在 ") and "分钟后再试。" in refusal and "/plan" in refusal
    )
    assert len(upstream.chat_requests) == 3


async def test_model_keyboard_switches_the_model_of_the_next_answer(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot
) -> None:
    bot = await make_bot()
    await bot.handle(fake.private_message(CHAT, "/model"))
    (sent,) = fake.sent(CHAT)
    buttons = [row[0] for row in sent.reply_markup["inline_keyboard"]]
    assert [button["callback_data"] for button in buttons] == [f"model:{MODEL}", f"model:{OTHER_MODEL}"]
    assert buttons[1]["text"] == f"{OTHER_MODEL} · 2/2 left (per 3 h)"
    message = fake.message_object(CHAT, sent.message_id, sent.text, reply_markup=sent.reply_markup)
    await bot.handle(fake.callback(CHAT, message, f"model:{OTHER_MODEL}"))
    assert fake.calls_to("answerCallbackQuery")[0].params["text"].startswith(f"Switched to {OTHER_MODEL}")
    assert fake.sent(CHAT)[0].reply_markup is None  # the keyboard is gone, the message says what was chosen
    await bot.handle(fake.private_message(CHAT, "hello"))
    assert upstream.chat_requests[-1].body["model"] == OTHER_MODEL
    user = await account_of(bot.services.store, "telegram", str(CHAT))
    assert user is not None and await window_count(bot.services.store, user.id, OTHER_MODEL) == 1


async def test_redeem_and_usage(fake: FakeTelegram, make_bot: MakeBot) -> None:
    bot = await make_bot()
    store, now = bot.services.store, bot.services.clock()
    await set_plan(store, {MODEL: (50, "3h")}, name="pro")
    batch = await generate_codes(store, plan="pro", days=30, count=1, now=now)
    await bot.handle(fake.private_message(CHAT, f"/redeem {batch.codes[0]}"))
    assert fake.texts(CHAT)[-1].startswith("Redeemed: 30 days of Pro, until ")
    await bot.handle(fake.private_message(CHAT, "/usage"))
    usage = fake.texts(CHAT)[-1]
    assert usage.startswith("Plan: Pro (until ") and f"{MODEL}: 50/50 left (per 3 h)" in usage
    await bot.handle(fake.private_message(CHAT, f"/redeem {batch.codes[0]}"))
    assert fake.texts(CHAT)[-1] == "This code is wrong, already used, disabled or expired."


async def test_plan_sends_a_sign_in_link_without_a_preview(fake: FakeTelegram, make_bot: MakeBot) -> None:
    bot = await make_bot()
    await bot.handle(fake.private_message(CHAT, "/plan"))
    (call,) = fake.calls_to("sendMessage")
    assert f"{bot.services.settings.DOMAIN}/auth/link/" in call.params["text"]
    assert call.params["link_preview_options"] == {"is_disabled": True}  # a preview fetch must not spend it


async def test_groups_answer_mentions_and_replies_charging_whoever_asked(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot
) -> None:
    bot = await make_bot()
    store = bot.services.store
    await bot.handle(fake.group_message(GROUP, 801, "just talking among ourselves"))
    assert not fake.calls_to("sendMessage") and await account_of(store, "telegram", "801") is None
    question = fake.group_message(GROUP, 801, f"@{fake.username} what is 2+2?")
    await bot.handle(question)
    assert upstream.chat_requests[-1].body["messages"][-1]["content"] == "what is 2+2?"
    answer = fake.sent(GROUP)[0]
    assert answer.reply_to == question["message"]["message_id"] and answer.text == text_of(8).strip()
    assert not fake.calls_to("sendMessageDraft")  # drafts are for private chats
    bot_message = fake.message_object(GROUP, answer.message_id, answer.text)
    await bot.handle(fake.group_message(GROUP, 802, "and why?", reply_to=bot_message))
    asker, replier = [await account_of(store, "telegram", uid) for uid in ("801", "802")]
    assert asker is not None and replier is not None
    assert await window_count(store, asker.id) == 1 and await window_count(store, replier.id) == 1
    await bot.handle(fake.private_message(801, "private question"))
    assert len(await list_conversations(store, asker.id)) == 2  # the group is a conversation of its own
    await bot.handle(fake.group_message(GROUP, 801, "/plan"))
    assert "private chat" in fake.texts(GROUP)[-1] and "/auth/link/" not in fake.texts(GROUP)[-1]


async def test_other_kinds_of_message_and_blocked_accounts(fake: FakeTelegram, make_bot: MakeBot) -> None:
    bot = await make_bot()
    await bot.handle(fake.photo_message(CHAT))
    assert fake.texts(CHAT) == ["Only text messages are supported for now."]
    user = await account_of(bot.services.store, "telegram", str(CHAT))
    assert user is not None
    await set_blocked(bot.services.store, user.id, True)
    await bot.handle(fake.private_message(CHAT, "hello"))
    assert fake.texts(CHAT)[-1] == "This account has been blocked."
