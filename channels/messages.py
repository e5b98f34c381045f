"""The bots' texts: key -> (zh-CN, English), shared by the WeChat and Telegram bots, plus core's error texts.

`CATALOGUE.text(lang, key, **params)` fills `{name}` placeholders. Texts are plain: a bot escapes them for its medium.
`describe_window` and `describe_wait` turn a plan window ("3h") and a wait in seconds into words; `error_text`
says a core error the way a bot answers it.
"""

from __future__ import annotations

from core.errors import CoreError
from core.i18n import ERROR_MESSAGES, Catalogue

BOT_MESSAGES: dict[str, tuple[str, str]] = {
    "bot.welcome": (
        "你好！我是 {site} 的 AI 助手，直接发消息就能和我对话。",
        "Hello! I am the AI assistant of {site}. Just send a message to chat.",
    ),
    "bot.help": (
        "可用命令：\n"
        "/new 新对话：开始一段新对话\n"
        "/model 模型：查看或切换模型\n"
        "/usage 用量：查看套餐和剩余额度\n"
        "/plan 套餐：打开套餐页面（已登录）\n"
        "/redeem 兑换 <兑换码>：兑换卡密\n"
        "/bind 绑定 <绑定码>：绑定网页账户\n"
        "/notice 公告：查看公告\n"
        "/help 帮助：显示本帮助",
        "Commands:\n"
        "/new: start a new conversation\n"
        "/model: see or switch the model\n"
        "/usage: your plan and remaining quota\n"
        "/plan: open the pricing page, signed in\n"
        "/redeem <code>: redeem a code\n"
        "/bind <code>: link your web account\n"
        "/notice: the announcement\n"
        "/help: this help",
    ),
    "bot.new": ("已开始新对话。", "Started a new conversation."),
    "bot.model_current": ("当前模型：{model}", "Current model: {model}"),
    "bot.model_pick": ("选择一个模型（剩余次数 / 上限）：", "Choose a model (remaining / limit):"),
    "bot.model_pick_text": (
        "发送「模型 <名称>」切换，例如：模型 {example}",
        "Send “model <name>” to switch, e.g. model {example}",
    ),
    "bot.model_choice": (
        "{name} · 剩余 {remaining}/{limit}（每 {window}）",
        "{name} · {remaining}/{limit} left (per {window})",
    ),
    "bot.model_none": ("你的套餐目前没有可用的模型。", "Your plan has no model available right now."),
    "bot.model_chosen": (
        "已切换到 {model}，之后的消息将使用此模型。",
        "Switched to {model}; your next messages use it.",
    ),
    "bot.usage_plan": ("套餐：{plan}", "Plan: {plan}"),
    "bot.usage_until": ("套餐：{plan}（{date} 到期）", "Plan: {plan} (until {date})"),
    "bot.usage_model": (
        "{name}：剩余 {remaining}/{limit}（每 {window}）",
        "{name}: {remaining}/{limit} left (per {window})",
    ),
    "bot.usage_frees": ("，{wait}后恢复一次", "; one more in {wait}"),
    "bot.usage_today": ("今日：{requests} 次对话，{tokens} tokens", "Today: {requests} requests, {tokens} tokens"),
    "bot.usage_daily_cap": ("今日 token 额度：已用 {used} / {cap}", "Today's token allowance: {used} of {cap} used"),
    "bot.usage_resets": ("重置机会：{count} 次", "Reset chances: {count}"),
    "bot.plan": (
        "当前套餐：{plan}。\n打开下面的链接查看和购买套餐（已为你登录，10 分钟内有效，仅可使用一次）：",
        "Your plan: {plan}.\nOpen this link to see and buy plans (signed in for you; valid for 10 minutes, once):",
    ),
    "bot.login": (
        "打开下面的链接即可在网页上登录你的账户（10 分钟内有效，仅可使用一次）：",
        "Open this link to sign in to your account on the web (valid for 10 minutes, once):",
    ),
    "bot.plan_no_link": (
        "当前套餐：{plan}。请在本站网页上登录后查看和购买套餐。",
        "Your plan: {plan}. Sign in on this site's web pages to see and buy plans.",
    ),
    "bot.login_no_link": (
        "本站尚未设置网址（DOMAIN），无法发送登录链接，请直接在网页上登录。",
        "This site's address (DOMAIN) is not set, so no sign-in link can be sent; sign in on the web pages.",
    ),
    "bot.link_label": ("打开", "Open"),
    "bot.redeem_usage": ("用法：/redeem <兑换码>（或发送「兑换 <兑换码>」）", "Usage: /redeem <code>"),
    "bot.redeem_plan": (
        "兑换成功：{plan} {days} 天，{date} 到期。",
        "Redeemed: {days} days of {plan}, until {date}.",
    ),
    "bot.redeem_queued": (
        "兑换成功：{plan} {days} 天，将在当前套餐结束后（{start}）开始，{date} 到期。",
        "Redeemed: {days} days of {plan}, starting when your current plan ends ({start}), until {date}.",
    ),
    "bot.redeem_resets": (
        "兑换成功：获得 {count} 次重置机会，现有 {total} 次。",
        "Redeemed: {count} reset chances added; you have {total} now.",
    ),
    "bot.bind_usage": (
        "用法：/bind <绑定码>（或发送「绑定 <绑定码>」）。绑定码在网页的账户页面获取。",
        "Usage: /bind <code>. Get the code on your account page on the web.",
    ),
    "bot.bound": (
        "已绑定网页账户 {account}。对话记录、套餐和额度现在与网页共享。",
        "Linked to the web account {account}. Your history, plan and quota are now shared with the web.",
    ),
    "bot.notice_none": ("暂无公告。", "There is no announcement."),
    "bot.wait_seconds": ("{n} 秒", "{n} s"),
    "bot.wait_minutes": ("{n} 分钟", "{n} min"),
    "bot.wait_hours": ("{n} 小时", "{n} h"),
    "bot.wait_days": ("{n} 天", "{n} days"),
    "bot.window_s": ("{n} 秒", "{n} s"),
    "bot.window_m": ("{n} 分钟", "{n} min"),
    "bot.window_h": ("{n} 小时", "{n} h"),
    "bot.window_d": ("{n} 天", "{n} days"),
    "bot.window_w": ("{n} 周", "{n} weeks"),
    "bot.retry_in": ("请在 {wait}后再试。", "Try again in {wait}."),
    "bot.quota_hint": (
        "发送 /model 换用其他模型，或 /plan 升级套餐。",
        "Send /model to use another model, or /plan to upgrade.",
    ),
    "bot.text_only": ("目前只支持文字消息。", "Only text messages are supported for now."),
    "bot.answer_stopped": ("（回答中断：{reason}）", "(The answer stopped: {reason})"),
    "bot.empty_answer": ("（模型没有返回内容）", "(The model returned nothing.)"),
    "bot.busy": ("上一条消息还在回答中，请稍候。", "Still answering your previous message; one moment."),
    "bot.private_only": ("请在与我的私聊中使用此命令：{link}", "Use this command in a private chat with me: {link}"),
    # the command menu (Telegram setMyCommands)
    "menu.start": ("开始", "Start"),
    "menu.new": ("开始新对话", "Start a new conversation"),
    "menu.model": ("查看或切换模型", "See or switch the model"),
    "menu.usage": ("套餐与剩余额度", "Plan and remaining quota"),
    "menu.plan": ("打开套餐页面", "Open the pricing page"),
    "menu.redeem": ("兑换卡密", "Redeem a code"),
    "menu.bind": ("绑定网页账户", "Link your web account"),
    "menu.notice": ("查看公告", "Read the announcement"),
    "menu.help": ("帮助", "Help"),
}

CATALOGUE = Catalogue(ERROR_MESSAGES, BOT_MESSAGES)


def describe_window(window: str, lang: str) -> str:
    """Return a plan window ("3h") in words ("3 小时" / "3 h"); a malformed one as it is."""
    number, unit = window[:-1], window[-1:]
    if not number.isdigit() or unit not in "smhdw":
        return window
    return CATALOGUE.text(lang, f"bot.window_{unit}", n=int(number))


def describe_wait(seconds: float, lang: str) -> str:
    """Return a wait in the largest sensible unit, rounded up ("2 分钟" / "2 min")."""
    whole = max(1, int(seconds + 0.999))
    for limit, step, key in ((90, 1, "seconds"), (5400, 60, "minutes"), (172_800, 3600, "hours")):
        if whole < limit:
            return CATALOGUE.text(lang, f"bot.wait_{key}", n=-(-whole // step))
    return CATALOGUE.text(lang, "bot.wait_days", n=-(-whole // 86_400))


QUOTA_CODES = frozenset({"rate_limit_exceeded", "model_not_in_plan", "daily_tokens_exceeded", "limit_reached"})


def error_text(error: CoreError, lang: str) -> str:
    """Return what a bot answers for a core error: its text, when to try again, and what to do about quota."""
    text = CATALOGUE.text(lang, f"error.{error.code}")
    retry_after = error.data.get("retry_after")
    if isinstance(retry_after, int | float) and not isinstance(retry_after, bool) and retry_after > 0:
        text += " " + CATALOGUE.text(lang, "bot.retry_in", wait=describe_wait(retry_after, lang))
    if error.code in QUOTA_CODES:
        text += "\n" + CATALOGUE.text(lang, "bot.quota_hint")
    return text
