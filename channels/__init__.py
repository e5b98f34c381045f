"""The bot channels: the WeChat official account (channels.wechat) and the Telegram bot (channels.telegram).

Each enabled channel is a `Channel`: a name, the webhook blueprint the composition root registers on the web app
(None when it takes no webhooks), and the background runners `chatgate serve` starts (a poller, a token
refresher). A channel identifies its users with core.accounts.channel_identities and runs their turns through the
one chat entry point, core.chat.channel.run_channel_turn. It stands on the web layer (web) and core; it never
imports webui or admin, and they never import it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from quart import Blueprint

    from core.services import Services

Runner = Callable[[], Awaitable[None]]


class Channel(Protocol):
    """One bot channel as the composition root sees it."""

    name: str

    def blueprint(self) -> Blueprint | None:
        """Return the webhook routes to register on the web app, or None."""

    def runners(self) -> list[Runner]:
        """Return the background tasks to run while the server runs (each returns when cancelled)."""


def enabled_channels(services: Services) -> list[Channel]:
    """Return the channels the settings enable (each is imported only when its settings are given)."""
    channels: list[Channel] = []
    if services.settings.TELEGRAM_BOT_TOKEN.get_secret_value():
        from channels.telegram import TelegramChannel

        channels.append(TelegramChannel(services))
    if services.settings.WECHAT_TOKEN.get_secret_value():
        from channels.wechat import WeChatChannel

        channels.append(WeChatChannel(services))
    return channels
