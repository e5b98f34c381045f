"""What the bot tells Telegram on start: its command menu in Chinese and English, and where updates go.

Webhook mode sets `{DOMAIN}/telegram/webhook` with the secret token; polling mode deletes any webhook (the two
exclude each other: getUpdates answers 409 while a webhook is set). The bot's @username (getMe) is kept in the
store so the web account page can show the `t.me/<bot>?start=<code>` link.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter, TelegramUnauthorizedError
from aiogram.types import BotCommand

from channels.messages import CATALOGUE
from core.site.bots import set_bot_name

if TYPE_CHECKING:
    from channels.telegram.bot import TelegramBot

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
ALLOWED_UPDATES = ["message", "callback_query"]
MENU = ("new", "model", "usage", "plan", "redeem", "bind", "notice", "help")
MENU_LANGUAGES = {"zh": "zh-CN", "en": "en"}  # Telegram's language_code -> ours


def menu(lang: str) -> list[BotCommand]:
    return [BotCommand(command=name, description=CATALOGUE.text(lang, f"menu.{name}")) for name in MENU]


async def configure(telegram: TelegramBot, *, webhook: bool) -> None:
    """Remember the bot's name, set its menu, and point updates at the webhook or clear it for polling."""
    bot, settings, store = telegram.bot, telegram.services.settings, telegram.services.store
    await set_bot_name(store, "telegram", await telegram.username())
    await bot.set_my_commands(menu(settings.DEFAULT_LANGUAGE))  # every language without a list of its own
    for code, lang in MENU_LANGUAGES.items():
        await bot.set_my_commands(menu(lang), language_code=code)
    if webhook:
        secret = settings.TELEGRAM_WEBHOOK_SECRET.get_secret_value()
        url = f"{settings.DOMAIN}{WEBHOOK_PATH}"
        await bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        log.info("telegram webhook set to %s", url)
    else:
        await bot.delete_webhook()


async def configure_until_done(telegram: TelegramBot, *, webhook: bool, retry: float = 5.0) -> None:
    """Configure, retrying while Telegram cannot be reached; a refused token or webhook is logged once and ends it."""
    while True:
        try:
            await configure(telegram, webhook=webhook)
            return
        except TelegramUnauthorizedError:
            log.error("Telegram refused TELEGRAM_BOT_TOKEN (401): the bot stays off until it is fixed")
            raise
        except TelegramBadRequest as error:  # e.g. "bad webhook: An HTTPS URL must be provided for webhook"
            log.error("Telegram refused the bot's set-up: %s (check DOMAIN and TELEGRAM_WEBHOOK_SECRET)", error.message)
            return
        except TelegramRetryAfter as error:
            await asyncio.sleep(error.retry_after)
        except Exception as error:
            log.warning("telegram set-up failed, retrying in %.0f s: %s", retry, telegram.redact(error))
            await asyncio.sleep(retry)
