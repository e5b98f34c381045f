"""The command set both bots share: what counts as a command, and what each command answers."""

from __future__ import annotations

import pytest

from channels.commands import Command, parse_command, run_command
from channels.messages import CATALOGUE
from core.accounts.channel_identities import account_of, identify, issue_bind_code
from core.accounts.login_links import LOGIN_LINK_PATH, consume_login_link
from core.billing.redemption import generate_codes
from core.billing.subscriptions import current_plan
from core.chat.channel import channel_model, run_channel_turn
from core.chat.conversations import current_conversation
from core.services import Services
from core.site.notice import notice_for, set_notice
from tests.channels.conftest import OTHER_MODEL
from tests.chat_support import MODEL, new_user, set_plan


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/new", Command("new", "")),
        ("/new@SomeBot", Command("new", "")),
        ("  /redeem   CODE-1 ", Command("redeem", "CODE-1")),
        ("/Model gpt-4o", Command("model", "gpt-4o")),
        ("/start 12345678", Command("start", "12345678")),
        ("帮助", Command("help", "")),
        ("新对话", Command("new", "")),
        ("模型", Command("model", "")),
        ("用量", Command("usage", "")),
        ("套餐", Command("plan", "")),
        ("兑换 ABCD-1234", Command("redeem", "ABCD-1234")),
        ("绑定 12345678", Command("bind", "12345678")),
        ("绑定12345678", Command("bind", "12345678")),
        ("公告", Command("notice", "")),
        ("登录", Command("login", "")),
        ("HELP", Command("help", "")),
        ("redeem abc", Command("redeem", "abc")),
        ("login", Command("login", "")),
        ("帮助我写一首诗", None),
        ("兑换码是什么", None),
        ("绑定 是什么意思 呢", None),
        ("modelling is fun", None),
        ("help me write a poem", None),
        ("/unknown", None),
        ("/new@OtherBot", None),
        ("hello", None),
        ("", None),
    ],
)
def test_parse_command(text: str, expected: Command | None) -> None:
    assert parse_command(text, bot_username="SomeBot") == expected


async def run(services: Services, user_id: str, name: str, argument: str = "", lang: str = "en") -> tuple:
    user = await identify(services.store, services.settings, "telegram", user_id, now=services.clock())
    reply = await run_command(services, user, "telegram", Command(name, argument), lang=lang)
    return user, reply


async def test_model_lists_quota_and_switches(services: Services) -> None:
    user, reply = await run(services, "1", "model")
    assert [value for value, _ in reply.choices] == [MODEL, OTHER_MODEL]
    assert "2/2" in reply.choices[1][1] and "3 h" in reply.choices[1][1]
    assert MODEL in reply.text
    _, chosen = await run(services, "1", "model", OTHER_MODEL)
    assert OTHER_MODEL in chosen.text and await channel_model(services, user, "telegram") == OTHER_MODEL
    _, unknown = await run(services, "1", "model", "no-such-model", lang="zh-CN")
    assert unknown.text.startswith("该模型不存在")
    await set_plan(services.store, {MODEL: (3, "1h")})
    _, outside = await run(services, "1", "model", OTHER_MODEL)
    assert "does not include" in outside.text and "/plan" in outside.text


async def test_usage_shows_remaining_quota_and_when_it_frees(services: Services) -> None:
    user, _ = await run(services, "2", "help")
    for _ in range(3):
        stream = await run_channel_turn(services, user, "telegram", "hi")
        async for _event in stream:
            pass
        await stream.aclose()
    _, reply = await run(services, "2", "usage", lang="zh-CN")
    assert "套餐：Free" in reply.text
    assert f"{MODEL}：剩余 0/3（每 1 小时），" in reply.text and "分钟后恢复一次" in reply.text
    assert "今日：3 次对话" in reply.text


async def test_new_starts_afresh(services: Services) -> None:
    user, _ = await run(services, "3", "help")
    stream = await run_channel_turn(services, user, "telegram", "hi")
    async for _event in stream:
        pass
    await stream.aclose()
    assert await current_conversation(services.store, user.id, "telegram") is not None
    _, reply = await run(services, "3", "new")
    assert reply.text == "Started a new conversation."
    assert await current_conversation(services.store, user.id, "telegram") is None


async def test_plan_and_login_give_one_time_links(services: Services) -> None:
    user, reply = await run(services, "4", "plan")
    assert reply.link is not None and LOGIN_LINK_PATH in reply.link and "Free" in reply.text
    link = await consume_login_link(services.store, reply.link.rsplit("/", 1)[1])
    assert link is not None and link.user.id == user.id and link.next_path == "/pricing"
    _, login = await run(services, "4", "login", lang="zh-CN")
    assert login.link is not None and "10 分钟" in login.text


async def test_bind_and_start_payload_move_the_identity(services: Services) -> None:
    store, settings = services.store, services.settings
    web = await new_user(store, settings)
    _, usage = await run(services, "5", "bind")
    assert usage.text.startswith("Usage: /bind")
    _, wrong = await run(services, "5", "bind", "00000000")
    assert "wrong or has expired" in wrong.text
    code = await issue_bind_code(store, settings, web.id)
    _, bound = await run(services, "5", "bind", code)
    assert "a***@example.com" in bound.text
    assert (await account_of(store, "telegram", "5")).id == web.id  # type: ignore[union-attr]
    code = await issue_bind_code(store, settings, web.id)
    _, started = await run(services, "6", "start", code, lang="zh-CN")
    assert "已绑定网页账户" in started.text and "直接发消息" in started.text
    assert (await account_of(store, "telegram", "6")).id == web.id  # type: ignore[union-attr]


async def test_notice_and_help(services: Services) -> None:
    user, none = await run(services, "7", "notice")
    assert none.text == "There is no announcement."
    await set_notice(services.store, "**Maintenance** tonight", services.clock())
    _, reply = await run(services, "7", "notice")
    assert reply.text == "**Maintenance** tonight"
    assert (await notice_for(services.store, user.id))[1]  # seen: the web will not pop it up again
    _, helped = await run(services, "7", "help", lang="zh-CN")
    assert "/redeem" in helped.text and "兑换" in helped.text


async def test_redeem_adds_plan_time_or_reset_chances_once(services: Services) -> None:
    store, now = services.store, services.clock()
    await set_plan(store, {MODEL: (50, "3h")}, name="pro")
    batch = await generate_codes(store, plan="pro", days=30, count=1, now=now)
    _, usage = await run(services, "8", "redeem")
    assert usage.text.startswith("Usage: /redeem")
    user, reply = await run(services, "8", "redeem", batch.codes[0].lower())
    assert reply.text.startswith("Redeemed: 30 days of Pro, until ")
    # Read after the redemption: its time starts at the redemption's whole second, which may be past `now`.
    assert (await current_plan(store, user.id, services.clock())).name == "pro"
    _, again = await run(services, "8", "redeem", batch.codes[0], lang="zh-CN")
    assert again.text == CATALOGUE.text("zh-CN", "error.invalid_redemption_code")
    _, garbage = await run(services, "8", "redeem", "not-a-code!")
    assert garbage.text == CATALOGUE.text("en", "error.invalid_redemption_code")
    chances = await generate_codes(store, reset_chances=3, count=1, now=now)
    _, added = await run(services, "8", "redeem", chances.codes[0])
    assert added.text == "Redeemed: 3 reset chances added; you have 3 now."


async def test_without_domain_plan_and_login_say_so_instead_of_a_link(services: Services) -> None:
    services.settings = services.settings.model_copy(update={"DOMAIN": ""})
    _, plan = await run(services, "9", "plan")
    assert plan.link is None and plan.text == "Your plan: Free. Sign in on this site's web pages to see and buy plans."
    _, login = await run(services, "9", "login", lang="zh-CN")
    assert login.link is None and "DOMAIN" in login.text
    assert not [key async for key in services.store.redis.scan_iter(match="*login:link*")]
