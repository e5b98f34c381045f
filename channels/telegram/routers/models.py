"""The /model keyboard's buttons: a press switches the presser's model and the message says which one it is now."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from channels.commands import Command, run_command
from channels.telegram.middleware import AccountMiddleware
from channels.telegram.routers.commands import MODEL_PREFIX
from channels.telegram.sender import Target
from core.accounts.users import User
from core.services import Services

if TYPE_CHECKING:
    from channels.telegram.bot import TelegramBot


ALERT_MAX_CHARS = 200  # answerCallbackQuery text limit


def router() -> Router:
    built = Router(name="models")
    built.callback_query.middleware(AccountMiddleware())
    built.callback_query.register(on_model_button, F.data.startswith(MODEL_PREFIX))
    return built


async def on_model_button(
    query: CallbackQuery, services: Services, telegram: TelegramBot, user: User, lang: str, thread: str
) -> None:
    model_id = (query.data or "")[len(MODEL_PREFIX) :]
    reply = await run_command(services, user, "telegram", Command("model", model_id), lang=lang, thread=thread)
    await query.answer(reply.text[:ALERT_MAX_CHARS])
    if isinstance(query.message, Message):
        target = Target(query.message.chat.id, private=not thread)
        await telegram.sender.edit(target, query.message.message_id, reply.text, markdown=False)
