"""The bots' public names, for the links web pages show (a bot learns its own name when it starts).

``chan:bot:<channel>`` -> the name: the Telegram bot's @username (from getMe), so the account page can offer
``https://t.me/<bot>?start=<bind code>``, which opens the bot and binds the Telegram account in one tap.
"""

from __future__ import annotations

from urllib.parse import quote

from core.store.connection import Store


async def set_bot_name(store: Store, channel: str, name: str) -> None:
    await store.redis.set(store.keys.bot_name(channel), name)


async def bot_name(store: Store, channel: str) -> str | None:
    name = await store.redis.get(store.keys.bot_name(channel))
    return str(name) if name else None


def telegram_start_link(bot: str, payload: str = "") -> str:
    """Return the t.me link that opens the bot (and sends `/start <payload>` when the user taps Start)."""
    link = f"https://t.me/{quote(bot)}"
    return f"{link}?start={quote(payload)}" if payload else link
