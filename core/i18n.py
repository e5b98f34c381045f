"""Languages and the catalogue of texts by key, plus the texts of core's errors, for every channel.

Every text has a zh-CN and an English version: ``key -> (zh-CN, English)``; `{name}` placeholders are filled by
`Catalogue.text(lang, key, name=...)`. `ERROR_MESSAGES` translates every core error code (core.errors) as
``error.<code>``: the web apps show them, and a bot answers with them without importing any web code. Each adapter
builds its own `Catalogue` from these texts and its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LANGUAGES: tuple[str, ...] = ("zh-CN", "en")
LANGUAGE_NAMES: dict[str, str] = {"zh-CN": "中文", "en": "English"}
Texts = Mapping[str, tuple[str, str]]


def normalize_language(value: str | None) -> str | None:
    """Map a language tag (zh, zh-Hans-CN, en-US, ...) to a supported language, or None."""
    if not value:
        return None
    tag = value.strip().lower().replace("_", "-")
    if tag == "zh" or tag.startswith("zh-"):
        return "zh-CN"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


class Catalogue:
    """Texts by language and key, merged from several parts (later parts win)."""

    def __init__(self, *parts: Texts) -> None:
        self.entries: dict[str, tuple[str, str]] = {key: texts for part in parts for key, texts in part.items()}
        self.by_language: dict[str, dict[str, str]] = {
            lang: {key: texts[index] for key, texts in self.entries.items()} for index, lang in enumerate(LANGUAGES)
        }

    def text(self, lang: str, key: str, **params: Any) -> str:
        """Return the text of `key` in `lang` (falling back to zh-CN, then the key), with {params} filled in."""
        found = self.by_language.get(lang, {}).get(key) or self.by_language[LANGUAGES[0]].get(key) or key
        return found.format(**params) if params else found


ERROR_MESSAGES: dict[str, tuple[str, str]] = {
    "error.internal_error": ("出错了，请稍后再试。", "Something went wrong. Try again later."),
    "error.http_error": ("请求失败，请稍后再试。", "The request failed. Try again later."),
    "error.network_error": ("网络连接失败，请检查网络后重试。", "Could not reach the server. Check your connection."),
    "error.method_not_allowed": ("不支持此操作。", "This action is not allowed."),
    "error.invalid_input": ("提交的内容无效。", "Some of the input is not valid."),
    "error.invalid_email": ("邮箱地址无效。", "That email address is not valid."),
    "error.invalid_phone": (
        "手机号无效，其他地区请使用 +国家码 格式，如 +85212345678。",
        "That phone number is not valid; use international format such as +8613800138000.",
    ),
    "error.weak_password": ("密码至少需要 8 个字符。", "The password must be at least 8 characters."),
    "error.unsupported_media_type": (
        "请以 JSON 格式提交（Content-Type: application/json）。",
        "Send the body as JSON (Content-Type: application/json).",
    ),
    "error.misdirected_request": ("此地址不接受该主机名的请求。", "This address does not answer to that host name."),
    "error.payload_too_large": ("提交的内容太大。", "The request is too large."),
    "error.message_too_long": (
        "消息太长，请缩短后再发送。",
        "The message is too long; shorten it and send it again.",
    ),
    "error.already_registered": (
        "该邮箱或手机号已注册，请直接登录。",
        "This email or phone is already registered. Sign in instead.",
    ),
    "error.invalid_credentials": ("账号或密码错误。", "Wrong account or password."),
    "error.account_blocked": ("此账号已被封禁。", "This account has been blocked."),
    "error.not_authenticated": ("请先登录。", "Please sign in."),
    "error.forbidden": ("你没有权限执行此操作。", "You are not allowed to do this."),
    "error.not_admin": ("此账号不是管理员。", "This account is not an administrator."),
    "error.csrf_failed": ("页面已过期，请刷新后重试。", "The page expired; reload it and try again."),
    "error.not_found": ("找不到该内容。", "Not found."),
    "error.invalid_invite_code": ("邀请码不存在。", "That invitation code does not exist."),
    "error.already_exists": ("该名称已存在。", "Something with that name already exists."),
    "error.in_use": ("仍在使用中，无法删除。", "It is in use, so it cannot be deleted."),
    "error.registration_closed": ("本站暂停注册。", "Registration is closed on this site."),
    "error.invite_required": ("本站需凭邀请码注册。", "An invitation code is required to register on this site."),
    "error.code_required": ("请填写验证码。", "A verification code is required."),
    "error.invalid_code": ("验证码错误或已过期。", "The code is wrong or has expired."),
    "error.invalid_bind_code": (
        "绑定码错误或已过期，请在网页的账户页面获取新的绑定码。",
        "The bind code is wrong or has expired; get a new one on your account page.",
    ),
    "error.code_cooldown": ("验证码发送太频繁，请稍后再试。", "Please wait before requesting another code."),
    "error.code_daily_cap": ("今日获取验证码次数已达上限，请明天再试。", "Too many codes today; try again tomorrow."),
    "error.delivery_failed": ("验证码发送失败，请稍后再试。", "The code could not be delivered; try again later."),
    "error.delivery_unavailable": (
        "本站未配置此类验证码的发送服务。",
        "This site cannot send codes to this kind of address.",
    ),
    "error.too_many_attempts": ("尝试次数过多，请稍后再试。", "Too many attempts; try again later."),
    "error.model_not_found": ("该模型不存在。", "That model does not exist."),
    "error.model_not_in_plan": ("你的套餐不包含此模型。", "Your plan does not include this model."),
    "error.rate_limit_exceeded": (
        "已达到套餐对此模型的使用上限。",
        "You have reached your plan's limit for this model.",
    ),
    "error.no_reset_chances": ("没有可用的重置机会了。", "You have no reset chances left."),
    "error.content_filter": ("内容未通过审核。", "The content was blocked by moderation."),
    "error.upstream_unavailable": (
        "此模型的服务暂时不可用，请稍后再试。",
        "This model is unavailable right now; try again shortly.",
    ),
    "error.upstream_error": ("模型服务返回了错误。", "The model service returned an error."),
    "error.context_length_exceeded": ("消息太长，超出了此模型的上限。", "The message is too long for this model."),
    "error.limit_reached": ("已达到账户的使用上限。", "A limit on your account has been reached."),
    "error.daily_tokens_exceeded": (
        "今日的 token 额度已用完或不足以完成此请求，将于 UTC 0 点恢复。",
        "Today's token allowance is used up or too small for this request; it renews at 00:00 UTC.",
    ),
    "error.too_many_streams": (
        "你同时进行中的回答太多了，请等其中一个结束后再试。",
        "You have too many answers in progress; wait for one to finish.",
    ),
    "error.plan_cap_exceeded": (
        "请求超出了你的套餐对单次请求的限制。",
        "The request asks for more than your plan allows per request.",
    ),
    "error.unsupported_content": (
        "此模型不接受这种类型的内容。",
        "This model does not accept this kind of content.",
    ),
    "error.unknown_parameter": ("请求中有此接口不认识的参数。", "The request has a parameter this API does not know."),
    "error.unsupported_parameter": (
        "此接口不支持请求中的某个参数。",
        "The request uses a parameter this API does not support.",
    ),
    "error.plan_not_for_sale": ("此套餐或付费周期不可购买。", "This plan or billing cycle cannot be bought."),
    "error.payments_disabled": ("本站尚未开通在线支付。", "Payments are not set up on this site."),
    "error.payment_failed": (
        "支付服务暂时无法创建订单，请稍后再试。",
        "The payment service could not start the payment; try again later.",
    ),
    "error.invalid_redemption_code": (
        "兑换码错误、已被使用、已停用或已过期。",
        "This code is wrong, already used, disabled or expired.",
    ),
    "error.store_unavailable": ("服务暂时不可用，请稍后再试。", "The service is unavailable; try again shortly."),
}
