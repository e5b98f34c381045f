"""The web app's texts: key -> (zh-CN, English), by page; the chat page's are in webui.chat_messages, the pricing,
paying and billing texts in webui.billing_messages.

`CATALOGUE` is the web app's whole catalogue: core's error texts (core.i18n), the texts both web apps share
(web.messages), these and the chat's. `{name}` placeholders are filled by `t(key, name=...)` in templates and
`CG.t(key, {name: ...})` in scripts.
"""

from __future__ import annotations

from core.i18n import ERROR_MESSAGES, Catalogue
from web.messages import SHARED_MESSAGES
from webui.billing_messages import BILLING_MESSAGES
from webui.chat_features_messages import CHAT_FEATURE_MESSAGES
from webui.chat_messages import CHAT_MESSAGES

PAGE_MESSAGES: dict[str, tuple[str, str]] = {
    "register.title": ("注册账号", "Create your account"),
    "register.subtitle": ("注册后即可开始对话", "Sign up to start chatting"),
    "register.submit": ("注册", "Create account"),
    "register.have_account": ("已有账号？", "Already have an account?"),
    "register.sign_in": ("去登录", "Sign in"),
    "register.invited": ("你正在通过好友邀请注册。", "You were invited by a friend."),
    "register.closed": (
        "本站暂停注册。已有账号可直接登录。",
        "Registration is closed. If you have an account, sign in.",
    ),
    "register.invite_only": ("本站需凭邀请码注册。", "An invitation code is required to sign up here."),
    "forgot.title": ("重置密码", "Reset your password"),
    "forgot.subtitle": ("我们会向你的邮箱或手机发送验证码。", "We will send a code to your email or phone."),
    "forgot.submit": ("重置密码", "Reset password"),
    "forgot.done": ("密码已重置，请使用新密码登录。", "Your password has been reset. Sign in with the new one."),
    "forgot.unavailable": (
        "本站没有配置邮件或短信服务，无法通过验证码重置密码。",
        "This site sends no email or text messages, so a password cannot be reset by code here.",
    ),
    "forgot.contact": ("请联系运营方重置密码：", "Ask the operator to reset it:"),
    "forgot.no_reset": (
        "本站无法在线重置密码。如果你还记得密码，请返回登录。",
        "Passwords cannot be reset on this site. If you remember yours, go back and sign in.",
    ),
    "nav.chat": ("对话", "Chat"),
    "share.kicker": ("分享的对话", "Shared conversation"),
    "share.snapshot": ("{date} 的快照（只读）", "A read-only snapshot of {date}"),
    "share.start": ("在 {site} 开始你自己的对话", "Start your own chat on {site}"),
    "account.back_to_chat": ("← 返回对话", "← Back to chat"),
    "plan.title": ("套餐与额度", "Plan and quota"),
    "plan.ends": ("有效期至 {date}", "until {date}"),
    "plan.used_up": ("已用完 · {wait}后恢复", "Used up · frees in {wait}"),
    "plan.no_models": ("当前套餐不含任何模型。", "Your plan includes no models."),
    "plan.daily": (
        "今日已用 {used} / {limit} tokens（UTC 零点重置）",
        "Today: {used} of {limit} tokens (resets 00:00 UTC)",
    ),
    "plan.note": (
        "发送、重新生成和编辑消息各计一次。",
        "Sending, regenerating and editing a message each use one.",
    ),
    "plan.resets": ("你还有 {n} 次额度重置机会。", "You have {n} quota reset chance(s)."),
    "forgot.back": ("返回登录", "Back to sign in"),
    "account.title": ("账户", "Account"),
    "account.sections": ("账户设置", "Account settings"),
    "account.profile": ("个人资料", "Profile"),
    "account.signed_in_as": ("登录身份", "Signed in as"),
    "account.member_since": ("注册于 {date}", "Member since {date}"),
    "account.language": ("界面语言", "Interface language"),
    "account.password": ("修改密码", "Change password"),
    "account.password_submit": ("修改密码", "Change password"),
    "account.revoke_keys": (
        "同时吊销我的全部 API 密钥（怀疑泄露时勾选）",
        "Also revoke all my API keys (if one may have leaked)",
    ),
    "account.keys_revoked": ("已吊销 {count} 个 API 密钥。", "{count} API keys were revoked."),
    "account.password_changed": (
        "密码已修改，其他设备已退出登录。",
        "Password changed. Your other sessions have been signed out.",
    ),
    "sessions.title": ("登录设备", "Sessions"),
    "sessions.intro": ("这些设备正登录着你的账户。", "These devices are signed in to your account."),
    "sessions.current": ("当前设备", "This device"),
    "sessions.unknown_device": ("未知设备", "Unknown device"),
    "sessions.signed_in": ("登录于 {time}", "Signed in {time}"),
    "sessions.last_seen": ("最近活动 {time}", "Last active {time}"),
    "sessions.sign_out": ("退出", "Sign out"),
    "sessions.sign_out_others": ("退出其他所有设备", "Sign out everywhere else"),
    "sessions.others_done": ("其他设备已全部退出。", "All other sessions have been signed out."),
    "sessions.empty": ("没有其他登录设备。", "No other sessions."),
    "invite.title": ("邀请好友", "Invite friends"),
    "invite.intro": (
        "好友通过你的链接注册并完成验证，你将获得 {count} 次额度重置机会。",
        "When a friend signs up with your link and is verified, you get {count} quota reset chance(s).",
    ),
    "invite.link": ("你的邀请链接", "Your invitation link"),
    "invite.invitees": ("已邀请", "Friends invited"),
    "invite.chances": ("可用重置机会", "Reset chances"),
    "keys.title": ("API 密钥", "API keys"),
    "keys.intro": (
        "在任何兼容 OpenAI 的客户端中使用密钥，接口地址：",
        "Use a key in any OpenAI-compatible client. Base URL:",
    ),
    "keys.name": ("密钥名称", "Key name"),
    "keys.name_placeholder": ("例如：我的笔记本", "e.g. My laptop"),
    "keys.create": ("创建密钥", "Create key"),
    "keys.new_key": ("新密钥", "New key"),
    "keys.shown_once": ("请立即复制此密钥，它只显示这一次。", "Copy this key now. It will not be shown again."),
    "keys.created": ("创建于 {time}", "Created {time}"),
    "keys.last_used": ("最近使用 {time}", "Last used {time}"),
    "keys.empty": ("还没有密钥。", "No keys yet."),
    "keys.confirm_delete": (
        "删除后，使用此密钥的客户端将无法访问。确定删除？",
        "Clients using this key will stop working. Delete it?",
    ),
    "keys.deleted": ("密钥已删除。", "Key deleted."),
    "usage.title": ("近 30 天用量", "Usage, last 30 days"),
    "usage.date": ("日期", "Date"),
    "usage.model": ("模型", "Model"),
    "usage.requests": ("请求数", "Requests"),
    "usage.prompt": ("输入 tokens", "Prompt tokens"),
    "usage.completion": ("输出 tokens", "Completion tokens"),
    "usage.empty": ("近 30 天没有用量。", "No usage in the last 30 days."),
    "channels.title": ("关联聊天应用", "Chat apps"),
    "channels.intro": (
        "在 Telegram 或微信公众号中与 AI 对话，并与网页共享对话记录、套餐和额度。"
        "获取绑定码后，在应用中打开链接或发送绑定码即可。",
        "Chat in Telegram or our WeChat official account, sharing your history, plan and quota with the web. Get a "
        "bind code, then open the link or send the code in the app.",
    ),
    "channels.telegram": ("Telegram", "Telegram"),
    "channels.wechat": ("微信公众号", "WeChat official account"),
    "channels.wechat_hint": (
        "在微信公众号「{name}」中发送：绑定 {code}",
        "Send this to our WeChat official account {name}: 绑定 {code}",
    ),
    "channels.wechat_hint_no_name": (
        "在微信公众号中发送：绑定 {code}",
        "Send this to our WeChat official account: 绑定 {code}",
    ),
    "channels.bound": ("已关联", "Linked"),
    "channels.not_bound": ("未关联", "Not linked"),
    "channels.get_code": ("获取绑定码", "Get a bind code"),
    "channels.new_code": ("换一个绑定码", "Get a new code"),
    "channels.code": ("绑定码：", "Bind code:"),
    "channels.valid_for": ("（{minutes} 分钟内有效）", "(valid for {minutes} minutes)"),
    "channels.open_telegram": ("在 Telegram 中打开并绑定", "Open Telegram and link"),
    "channels.telegram_hint": (
        "或在 Telegram 中向 @{bot} 发送：/bind {code}",
        "Or send this to @{bot} in Telegram: /bind {code}",
    ),
    "channels.telegram_hint_no_bot": (
        "在 Telegram 中向机器人发送：/bind {code}",
        "Send this to the bot in Telegram: /bind {code}",
    ),
    "link.title": ("正在登录", "Signing you in"),
    "link.subtitle": ("通过机器人发来的登录链接登录你的账户。", "Sign in with the link the bot sent you."),
    "link.continue": ("继续", "Continue"),
    "link.expired": (
        "此登录链接已使用或已过期（10 分钟内有效，仅可使用一次）。请向机器人重新获取，或直接登录。",
        "This sign-in link was already used or has expired (links work once, for 10 minutes). Ask the bot for a "
        "new one, or sign in.",
    ),
    "link.sign_in": ("去登录", "Sign in"),
    "codelogin.title": ("用公众号登录码登录", "Sign in with a WeChat code"),
    "codelogin.subtitle": (
        "在微信公众号里发送「登录」，获取 8 位登录码。",
        "Send “login” to our WeChat official account to get an 8-digit code.",
    ),
    "codelogin.subtitle_named": (
        "在微信公众号「{name}」里发送「登录」，获取 8 位登录码。",
        "Send “login” to our WeChat official account {name} to get an 8-digit code.",
    ),
    "codelogin.field": ("登录码", "Sign-in code"),
    "codelogin.hint": ("10 分钟内有效，仅可使用一次。", "Valid for 10 minutes, once."),
    "codelogin.invalid": ("请输入 8 位数字登录码。", "Enter the 8-digit code."),
    "codelogin.submit": ("登录", "Sign in"),
    "codelogin.other": ("用账号和密码登录", "Sign in with your account and password"),
    "login.wechat_code": ("用公众号登录码登录", "Sign in with a code from WeChat"),
}

CATALOGUE = Catalogue(
    ERROR_MESSAGES, SHARED_MESSAGES, PAGE_MESSAGES, CHAT_MESSAGES, BILLING_MESSAGES, CHAT_FEATURE_MESSAGES
)
MESSAGES = CATALOGUE.entries
CATALOGUES = CATALOGUE.by_language
translate = CATALOGUE.text
