"""The shared commands (channels.commands) in Telegram: /start (with a bind code from the account page's deep
link), /new, /model (an inline keyboard), /usage, /plan, /redeem, /bind, /notice, /help, /login.

In a group, the commands that show links or account details answer with a pointer to the private chat instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from channels.commands import Command, CommandReply, run_command
from channels.messages import CATALOGUE
from channels.telegram.filters import IsCommand
from channels.telegram.middleware import AccountMiddleware
from channels.telegram.sender import Target
from core.accounts.users import User
from core.services import Services

if TYPE_CHECKING:
    from channels.telegram.bot import TelegramBot

PRIVATE_ONLY = frozenset({"bind", "plan", "login", "redeem", "usage"})
CALLBACK_MAX_BYTES = 64
MODEL_PREFIX = "model:"


def router() -> Router:
    built = Router(name="commands")
    built.message.middleware(AccountMiddleware())
    built.message.register(on_command, F.text, IsCommand())
    return built


def keyboard(choices: tuple[tuple[str, str], ...]) -> InlineKeyboardMarkup | None:
    """One button per choice; pressing it sends `model:<id>` back (channels.telegram.routers.models)."""
    rows = [
        [InlineKeyboardButton(text=label, callback_data=f"{MODEL_PREFIX}{value}")]
        for value, label in choices
        if len(f"{MODEL_PREFIX}{value}".encode()) <= CALLBACK_MAX_BYTES
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def reply_text(reply: CommandReply) -> str:
    return f"{reply.text}\n{reply.link}" if reply.link else reply.text


async def on_command(
    message: Message, command: Command, services: Services, telegram: TelegramBot, user: User, lang: str, thread: str
) -> None:
    target = Target(message.chat.id, private=not thread, reply_to=message.message_id if thread else None)
    if thread and (command.name in PRIVATE_ONLY or (command.name == "start" and command.argument)):
        link = f"https://t.me/{await telegram.username()}"
        await telegram.sender.send(target, CATALOGUE.text(lang, "bot.private_only", link=link), markdown=False)
        return
    reply = await run_command(services, user, "telegram", command, lang=lang, thread=thread)
    await telegram.sender.send(
        target, reply_text(reply), markup=keyboard(reply.choices), markdown=command.name == "notice"
    )
