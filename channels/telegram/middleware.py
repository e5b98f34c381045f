"""Who is writing: the account of the Telegram user behind an update, handed to the handlers.

It runs after a router's filters matched (an inner middleware), so group chatter the bot is not asked about
creates no account. It adds `user` (core.accounts.users.User: created on first contact, a channel identity of
one account, folded into a web account once bound), `lang` (the account's language, else the Telegram client's,
else DEFAULT_LANGUAGE) and `thread` (a group's chat id: its own conversation; "" in the private chat).
A blocked account is told so in its private chat, and nothing else runs. Each such update is one message in
(`chatgate_channel_messages_total`; what the bot sends is counted by channels.telegram.sender).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject
from aiogram.types import User as TelegramUser

from channels.messages import CATALOGUE
from channels.telegram.sender import Target
from core.accounts.channel_identities import identify
from core.i18n import normalize_language
from core.services import Services

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class AccountMiddleware(BaseMiddleware):
    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        sender: TelegramUser | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if sender is None or sender.is_bot:
            return None
        services: Services = data["services"]
        services.metrics.inc("chatgate_channel_messages_total", channel="telegram", direction="in")
        client_lang = normalize_language(sender.language_code)
        user = await identify(
            services.store, services.settings, "telegram", str(sender.id), now=services.clock(),
            name=sender.full_name, lang=client_lang or "",
        )  # fmt: skip
        lang = normalize_language(user.lang) or client_lang or services.settings.DEFAULT_LANGUAGE
        private = chat is None or chat.type == "private"
        if user.blocked:
            if chat is not None and private:
                text = CATALOGUE.text(lang, "error.account_blocked")
                await data["telegram"].sender.send(Target(chat.id, True), text, markdown=False)
            return None
        data.update(user=user, lang=lang, thread="" if private or chat is None else str(chat.id))
        return await handler(event, data)
