"""Which messages are for the bot: commands (channels.commands), and in groups only what mentions or replies to it."""

from __future__ import annotations

import re
from typing import Any

from aiogram import Bot
from aiogram.filters import Filter
from aiogram.types import Message

from channels.commands import parse_command


def _is_private(message: Message) -> bool:
    return message.chat.type == "private"


class IsCommand(Filter):
    """A command: any in the private chat; in a group, a slash command or "@bot <command word>"."""

    async def __call__(self, message: Message, bot: Bot) -> bool | dict[str, Any]:
        text = message.text or ""
        username = (await bot.me()).username or ""
        if not _is_private(message) and not text.startswith("/"):
            mention = f"@{username}"
            if not username or not text.lower().startswith(mention.lower()):
                return False
            text = text[len(mention) :]
        command = parse_command(text, bot_username=username)
        return {"command": command} if command is not None else False


class AddressedToBot(Filter):
    """A group message that mentions the bot or replies to one of its messages; gives the question without the
    mention."""

    async def __call__(self, message: Message, bot: Bot) -> bool | dict[str, Any]:
        me = await bot.me()
        text = message.text or ""
        mention = f"@{me.username}"
        mentioned = any(
            entity.type == "mention" and entity.extract_from(text).lower() == mention.lower()
            for entity in message.entities or []
        )
        replied = message.reply_to_message is not None and (
            message.reply_to_message.from_user is not None and message.reply_to_message.from_user.id == me.id
        )
        if not (mentioned or replied):
            return False
        question = re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE).strip()
        return {"question": question} if question else False
