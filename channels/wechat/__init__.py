"""The WeChat official account (公众号): the webhook, the wechatpy codec, answers in both account modes.

`WeChatChannel(services)` is enabled by channels.enabled_channels when WECHAT_TOKEN is set (the composition root
registers its webhook on the web app). Modules: codec (signatures, AES, parsing, replies), webhook (the routes),
delivery (subscription mode's retry hold and hand-over; service mode's customer-service pushes), mailbox (the message
state in the store), answers (chat, commands, events), api (access token, customer-service messages), plaintext
(Markdown to text, 2048-byte parts), followers, messages (texts).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from channels.wechat.api import WeChatApi
from channels.wechat.codec import Codec
from channels.wechat.delivery import Delivery

if TYPE_CHECKING:
    from quart import Blueprint

    from channels import Runner
    from core.services import Services
    from core.settings import Settings

AES_KEY = re.compile(r"[A-Za-z0-9]{43}")


def setting_problems(settings: Settings) -> list[str]:
    """Say what is missing or malformed in the WECHAT_* settings (the channel refuses to start with any)."""
    problems = []
    aes_key = settings.WECHAT_AES_KEY.get_secret_value()
    if aes_key and not AES_KEY.fullmatch(aes_key):
        problems.append("WECHAT_AES_KEY must be the 43 letters and digits of the EncodingAESKey")
    if aes_key and not settings.WECHAT_APPID:
        problems.append("safe mode (WECHAT_AES_KEY) needs WECHAT_APPID")
    has_api = bool(settings.WECHAT_APPID and settings.WECHAT_APPSECRET.get_secret_value())
    if settings.WECHAT_MODE == "service" and not has_api:
        problems.append("WECHAT_MODE=service needs WECHAT_APPID and WECHAT_APPSECRET (customer-service messages)")
    return problems


class WeChatChannel:
    """One official account: its codec, its delivery of answers, and its webhook routes."""

    name = "wechat"

    def __init__(self, services: Services) -> None:
        settings = services.settings
        problems = setting_problems(settings)
        if problems:
            raise ValueError("; ".join(problems))
        self.settings = settings
        self.codec = Codec(
            settings.WECHAT_TOKEN.get_secret_value(), settings.WECHAT_AES_KEY.get_secret_value(), settings.WECHAT_APPID
        )
        self.api = WeChatApi(settings, services.store, services.http) if settings.WECHAT_APPID else None
        self.delivery = Delivery(services, self.api)

    def blueprint(self) -> Blueprint:
        from channels.wechat.webhook import webhook_blueprint

        return webhook_blueprint(self)

    def runners(self) -> list[Runner]:
        return []
