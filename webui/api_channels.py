"""The account's bot channels (Telegram, WeChat): which are bound, and a bind code to bind one.

`GET /api/account/channels` -> `{"channels": [{"channel", "enabled", "bound", "bot"}]}` (bot: the Telegram bot's
@username once it has started; the WeChat official account's name, NEXT_PUBLIC_WECHAT_OA);
`POST /api/account/bind-code` -> `{"code", "expires_in", "telegram_link"}`: a fresh 8-digit code (the previous one
stops working) and the `t.me/<bot>?start=<code>` link that binds in one tap.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, g

from core.accounts.channel_identities import identities_of, issue_bind_code
from core.errors import Forbidden
from core.services import Services
from core.site.bots import bot_name, telegram_start_link
from web.context import services
from webui.auth import require_user

bp = Blueprint("api_channels", __name__)


def enabled_bot_channels(svc: Services) -> dict[str, bool]:
    """Say which bot channels this site runs (their settings are given)."""
    return {
        "telegram": bool(svc.settings.TELEGRAM_BOT_TOKEN.get_secret_value()),
        "wechat": bool(svc.settings.WECHAT_TOKEN.get_secret_value()),
    }


async def _bot(svc: Services, channel: str) -> str | None:
    if channel == "wechat":
        return svc.settings.NEXT_PUBLIC_WECHAT_OA or None
    return await bot_name(svc.store, channel)


async def bot_channels(svc: Services, user_id: int) -> list[dict[str, Any]]:
    """Return each bot channel with whether it runs, whether this account is bound in it, and the bot's name."""
    bound = await identities_of(svc.store, user_id)
    return [
        {"channel": name, "enabled": enabled, "bound": name in bound, "bot": await _bot(svc, name)}
        for name, enabled in enabled_bot_channels(svc).items()
    ]


@bp.get("/api/account/channels")
@require_user
async def channels() -> dict[str, Any]:
    return {"channels": await bot_channels(services(), g.user.id)}


@bp.post("/api/account/bind-code")
@require_user
async def bind_code() -> dict[str, Any]:
    if g.get("session") is None:  # a leaked API key must not bind someone else's chat to this account
        raise Forbidden("Sign in to bind a chat app; API keys cannot.")
    svc = services()
    code = await issue_bind_code(svc.store, svc.settings, g.user.id)
    bot = await bot_name(svc.store, "telegram")
    link = telegram_start_link(bot, code) if bot and enabled_bot_channels(svc)["telegram"] else None
    return {"code": code, "expires_in": svc.settings.BIND_CODE_SECONDS, "telegram_link": link}
