"""The texts of a verification-code email, in zh-CN and English."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Literal

Lang = Literal["zh-CN", "en"]
PURPOSES = ("register", "login", "reset", "bind")

_ACTIONS: dict[Lang, dict[str, str]] = {
    "zh-CN": {"register": "注册账号", "login": "登录", "reset": "重置密码", "bind": "绑定邮箱或手机号"},
    "en": {
        "register": "create your account",
        "login": "sign in",
        "reset": "reset your password",
        "bind": "link this address to your account",
    },
}

_SUBJECTS: dict[Lang, str] = {"zh-CN": "{title}验证码：{action}", "en": "Your {title} code to {action}"}

_TEXTS: dict[Lang, str] = {
    "zh-CN": (
        "您好！\n\n您正在{title}{action}，验证码为：\n\n    {code}\n\n"
        "验证码{minutes}分钟内有效，仅可使用一次。如果这不是您本人的操作，请忽略本邮件。\n\n— {title}\n"
    ),
    "en": (
        "Hello,\n\nYour verification code to {action} on {title} is:\n\n    {code}\n\n"
        "It is valid for {minutes} minutes and works once. If you did not ask for it, ignore this email.\n\n"
        "— {title}\n"
    ),
}

_HTML: dict[Lang, str] = {
    "zh-CN": (
        "<p>您好！</p><p>您正在{title}{action}，验证码为：</p>{box}"
        "<p>验证码{minutes}分钟内有效，仅可使用一次。如果这不是您本人的操作，请忽略本邮件。</p><p>— {title}</p>"
    ),
    "en": (
        "<p>Hello,</p><p>Your verification code to {action} on {title} is:</p>{box}"
        "<p>It is valid for {minutes} minutes and works once. If you did not ask for it, ignore this email.</p>"
        "<p>— {title}</p>"
    ),
}

_BOX = '<p style="font-size:28px;font-weight:bold;letter-spacing:6px;font-family:monospace;margin:16px 0">{code}</p>'


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str


def pick_lang(lang: str, default: Lang) -> Lang:
    """Map a user's language tag (zh, zh-CN, en-US, ...) to a supported one, else the site default."""
    tag = (lang or "").strip().lower()
    if tag.startswith("zh"):
        return "zh-CN"
    if tag.startswith("en"):
        return "en"
    return default


def code_email(*, title: str, code: str, purpose: str, lang: Lang, minutes: int) -> EmailContent:
    """Build the subject, plain text and HTML of a verification-code email."""
    action = _ACTIONS[lang][purpose]
    subject = _SUBJECTS[lang].format(title=title, action=action)
    text = _TEXTS[lang].format(title=title, action=action, code=code, minutes=minutes)
    safe = {"title": html.escape(title), "action": html.escape(action), "minutes": minutes}
    body = _HTML[lang].format(box=_BOX.format(code=html.escape(code)), **safe)
    page = f'<!doctype html><html lang="{lang}"><body style="font-family:sans-serif">{body}</body></html>'
    return EmailContent(subject=subject, text=text, html=page)
