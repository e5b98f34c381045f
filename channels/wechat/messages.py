"""What the official account says besides the shared command texts (channels.messages): key -> (zh-CN, English)."""

from __future__ import annotations

from channels.messages import BOT_MESSAGES
from core.i18n import ERROR_MESSAGES, Catalogue

WECHAT_MESSAGES: dict[str, tuple[str, str]] = {
    "wechat.help": (
        "直接发送文字或语音即可与 AI 对话。命令（作为消息发送）：\n"
        "新对话：开始一段新对话\n"
        "模型：查看或切换模型（模型 <名称>）\n"
        "用量：查看套餐和剩余额度\n"
        "套餐：打开套餐页面（已登录）\n"
        "兑换 <兑换码>：兑换卡密\n"
        "绑定 <绑定码>：绑定网页账户（绑定码在网页的账户页面获取）\n"
        "登录：获取网页登录码\n"
        "公告：查看公告\n"
        "帮助：显示本帮助",
        "Send text or voice to chat with the AI. Commands (send them as a message):\n"
        "new: start a new conversation\n"
        "model: see or switch the model (model <name>)\n"
        "usage: your plan and remaining quota\n"
        "plan: open the pricing page, signed in\n"
        "redeem <code>: redeem a code\n"
        "bind <code>: link your web account (the code is on your account page on the web)\n"
        "login: get a code to sign in on the web\n"
        "notice: the announcement\n"
        "help: this help",
    ),
    "wechat.welcome": (
        "欢迎关注 {site}！直接发送文字或语音即可与 AI 对话，发送「帮助」查看全部命令。",
        "Welcome to {site}! Send text or voice to chat with the AI; send “help” for the commands.",
    ),
    "wechat.notice": ("【公告】", "Announcement:"),
    "wechat.still_thinking": (
        "回答还在生成中，请稍后回复任意内容获取回答。",
        "Still working on the answer: send any message in a moment to get it.",
    ),
    "wechat.continue": ("（回复任意内容继续）", "(Reply anything to continue.)"),
    "wechat.text_only": (
        "目前只支持文字和语音消息，请发送文字。",
        "Only text and voice messages are supported; please send text.",
    ),
    "wechat.voice_unrecognised": (
        "没有识别出这条语音的内容，请再说一遍或发送文字。",
        "The voice message could not be recognised; say it again or send text.",
    ),
    "wechat.lost": (
        "抱歉，之前那条消息的回答没有生成出来，请重新发送。",
        "Sorry, the answer to your earlier message was lost; please send it again.",
    ),
    "wechat.login_code": (
        "网页登录码：{code}\n{minutes} 分钟内有效，仅可使用一次。在浏览器打开 {url} 输入登录码即可登录。",
        "Your web sign-in code: {code}\nValid for {minutes} minutes, once. Open {url} in a browser and enter it.",
    ),
    "wechat.model_choice": ("• {label}", "• {label}"),
}

CATALOGUE = Catalogue(ERROR_MESSAGES, BOT_MESSAGES, WECHAT_MESSAGES)
