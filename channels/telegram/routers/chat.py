"""Chat messages: every text in the private chat, and in groups what mentions or replies to the bot, is answered
through the chat path (charged to whoever asked; a group has its own conversation per user). Other kinds of
message in the private chat get a polite "text only"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.types import Message

from channels.messages import CATALOGUE
from channels.telegram.filters import AddressedToBot
from channels.telegram.middleware import AccountMiddleware
from channels.telegram.sender import Target
from channels.telegram.turn import answer_turn
from core.accounts.users import User

if TYPE_CHECKING:
    from channels.telegram.bot import TelegramBot


GROUPS = {"group", "supergroup"}


def router() -> Router:
    built = Router(name="chat")
    built.message.middleware(AccountMiddleware())
    built.message.register(on_private_text, F.chat.type == "private", F.text)
    built.message.register(on_group_question, F.chat.type.in_(GROUPS), F.text, AddressedToBot())
    built.message.register(on_private_other, F.chat.type == "private")
    return built


async def on_private_text(message: Message, telegram: TelegramBot, user: User, lang: str) -> None:
    await answer_turn(telegram, Target(message.chat.id, private=True), user, lang, message.text or "")


async def on_group_question(
    message: Message, question: str, telegram: TelegramBot, user: User, lang: str, thread: str
) -> None:
    target = Target(message.chat.id, private=False, reply_to=message.message_id)
    await answer_turn(telegram, target, user, lang, question, thread=thread)


async def on_private_other(message: Message, telegram: TelegramBot, lang: str) -> None:
    text = CATALOGUE.text(lang, "bot.text_only")
    await telegram.sender.send(Target(message.chat.id, private=True), text, markdown=False)
