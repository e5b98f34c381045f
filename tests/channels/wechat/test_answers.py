"""What followers get: commands in Chinese (typed or from the menu), quota and moderation refusals, voice, the
welcome with the announcement, and the recorded unsubscribe."""

from __future__ import annotations

from core.accounts.channel_identities import account_of
from core.accounts.login_codes import consume_login_code
from core.accounts.login_links import LOGIN_LINK_PATH, consume_login_link
from core.billing.redemption import format_code, generate_codes
from core.chat.conversations import current_conversation
from core.moderation.keywords import add_words
from core.site.notice import notice_for, set_notice
from tests.channels.wechat.conftest import WorldFactory
from tests.chat_support import MODEL, set_plan
from tests.fakes.openai_upstream import FakeUpstream, text_of


async def test_commands_answer_in_chinese(wechat_world: WorldFactory, upstream: FakeUpstream) -> None:
    world = await wechat_world(DOMAIN="https://chat.example")  # a sign-in link in a chat needs the site's address
    send = world.fake.send_text
    help_text = (await send("o-alice", "帮助")).reply
    assert help_text is not None and "新对话" in help_text and "登录" in help_text and "绑定 <绑定码>" in help_text
    assert (await send("o-alice", "hello")).reply == text_of(8).strip()
    usage = (await send("o-alice", "用量")).reply
    assert usage is not None and "套餐：Free" in usage and f"{MODEL}：剩余 19/20（每 1 小时）" in usage
    assert "今日：1 次对话" in usage
    plan = (await send("o-alice", "套餐")).reply
    assert plan is not None and plan.startswith("当前套餐：Free。") and f"{LOGIN_LINK_PATH}" in plan
    token = plan.rsplit(LOGIN_LINK_PATH, 1)[1].strip()
    link = await consume_login_link(world.store, token)
    assert link is not None and link.next_path == "/pricing"  # opens the pricing page signed in
    models = (await send("o-alice", "模型")).reply
    assert models is not None and f"当前模型：{MODEL}" in models and f"模型 {MODEL}" in models
    assert (await send("o-alice", "新对话")).reply == "已开始新对话。"
    user = await account_of(world.store, "wechat", "o-alice")
    assert user is not None and await current_conversation(world.store, user.id, "wechat") is None
    assert (await send("o-alice", "公告")).reply == "暂无公告。"
    assert (await send("o-alice", "兑换")).reply == "用法：/redeem <兑换码>（或发送「兑换 <兑换码>」）"
    assert len(upstream.chat_requests) == 1  # commands never reach the model


async def test_english_commands_answer_in_english(wechat_world: WorldFactory) -> None:
    world = await wechat_world()
    reply = (await world.fake.send_text("o-bob", "help")).reply
    assert reply is not None and reply.startswith("Send text or voice to chat with the AI.")


async def test_login_returns_a_one_time_code_for_the_web(wechat_world: WorldFactory) -> None:
    world = await wechat_world()
    reply = (await world.fake.send_text("o-alice", "登录")).reply
    assert reply is not None and reply.startswith("网页登录码：") and f"{world.settings.DOMAIN}/login/code" in reply
    code = reply.split("：", 1)[1].split("\n", 1)[0]
    user = await consume_login_code(world.store, world.settings, code, ip="203.0.113.9")
    following = await account_of(world.store, "wechat", "o-alice")
    assert following is not None and user.id == following.id


async def test_quota_exhausted_answers_in_chinese_without_a_model_call(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world()
    await set_plan(world.store, {MODEL: (1, "1h")})
    assert (await world.fake.send_text("o-alice", "first")).reply == text_of(8).strip()
    refused = (await world.fake.send_text("o-alice", "second")).reply
    assert refused is not None and refused.startswith("已达到套餐对此模型的使用上限。 请在 ")
    assert "发送 /model 换用其他模型，或 /plan 升级套餐。" in refused
    assert len(upstream.chat_requests) == 1


async def test_a_moderation_block_answers_in_chinese_without_a_model_call(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world(TEXT_SECURITY=["keywords"])
    await add_words(world.store, ["违禁词"])
    refused = await world.fake.send_text("o-alice", "这里有违禁词")
    assert refused.reply == "内容未通过审核。"
    assert not upstream.chat_requests
    assert (await world.fake.send_text("o-alice", "正常的话")).reply == text_of(8).strip()


async def test_voice_goes_to_the_chat_and_unrecognised_voice_asks_for_text(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world()
    assert (await world.fake.send_voice("o-alice", "今天天气怎么样？")).reply == text_of(8).strip()
    assert upstream.chat_requests[0].body["messages"][-1]["content"] == "今天天气怎么样"
    spoken = (await world.fake.send_voice("o-alice", "用量。")).reply  # recognised speech ends with a full stop
    assert spoken is not None and spoken.startswith("套餐：Free")
    unheard = await world.fake.send_voice("o-alice", "")
    assert unheard.reply == "没有识别出这条语音的内容，请再说一遍或发送文字。"
    assert len(upstream.chat_requests) == 1


async def test_subscribe_welcomes_with_the_announcement_and_unsubscribe_is_recorded(
    wechat_world: WorldFactory,
) -> None:
    world = await wechat_world()
    notice = await set_notice(world.store, "## 新功能\n\n支持**语音**了，详见 [说明](https://example.com/voice)。", 1.0)
    welcome = (await world.fake.send_event("o-carol", "subscribe")).reply
    assert welcome is not None and welcome.startswith("欢迎关注 ChatGate！")
    assert "【公告】\n新功能\n\n支持语音了，详见 说明 (https://example.com/voice)。" in welcome
    user = await account_of(world.store, "wechat", "o-carol")
    assert user is not None
    assert await notice_for(world.store, user.id) == (notice, True)  # seen: the web will not open it again
    store = world.store
    assert await store.redis.zscore(store.keys.wechat_followers(), "o-carol") is not None
    gone = await world.fake.send_event("o-carol", "unsubscribe")
    assert gone.reply is None
    assert await store.redis.hget(store.keys.wechat_follower("o-carol"), "state") == "unsubscribed"
    assert await store.redis.zscore(store.keys.wechat_followers(), "o-carol") is None


async def test_menu_click_keys_run_commands(wechat_world: WorldFactory, upstream: FakeUpstream) -> None:
    world = await wechat_world()
    usage = (await world.fake.send_event("o-alice", "CLICK", "usage")).reply
    assert usage is not None and usage.startswith("套餐：Free")
    assert (await world.fake.send_event("o-alice", "CLICK", "NEW")).reply == "已开始新对话。"
    unknown = (await world.fake.send_event("o-alice", "CLICK", "V1001_TODAY_MUSIC")).reply
    assert unknown is not None and unknown.startswith("直接发送文字或语音即可与 AI 对话。")
    assert not upstream.chat_requests


async def test_a_blocked_account_is_told_and_never_reaches_the_model(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world()
    await world.fake.send_text("o-alice", "帮助")
    user = await account_of(world.store, "wechat", "o-alice")
    assert user is not None
    await world.store.redis.hset(world.store.keys.user(user.id), "blocked", 1)
    assert (await world.fake.send_text("o-alice", "hello")).reply == "此账号已被封禁。"
    assert not upstream.chat_requests


async def test_redeem_answers_in_chinese_and_the_plan_follows(wechat_world: WorldFactory) -> None:
    world = await wechat_world()
    await set_plan(world.store, {MODEL: (100, "3h")}, name="pro")
    batch = await generate_codes(world.store, plan="pro", days=30, count=1, now=world.services[0].clock())
    code = format_code(batch.codes[0])
    redeemed = (await world.fake.send_text("o-alice", f"兑换 {code}")).reply
    assert redeemed is not None and redeemed.startswith("兑换成功：Pro 30 天，") and redeemed.endswith("到期。")
    usage = (await world.fake.send_text("o-alice", "用量")).reply
    assert usage is not None and usage.startswith("套餐：Pro（") and f"{MODEL}：剩余 100/100（每 3 小时）" in usage
    again = (await world.fake.send_text("o-alice", f"兑换 {code}")).reply
    assert again == "兑换码错误、已被使用、已停用或已过期。"
