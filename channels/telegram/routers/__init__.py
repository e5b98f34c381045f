"""The bot's routers, one per feature, built afresh for each Dispatcher (an aiogram router has one parent).

Order matters: commands first, then the model keyboard's buttons, then chat messages, then everything else.
Each router's handlers get `services`, `telegram` (the TelegramBot) and, from AccountMiddleware, `user`, `lang` and
`thread`.
"""

from __future__ import annotations

from aiogram import Router

from channels.telegram.routers import chat, commands, models


def get_routers() -> list[Router]:
    return [commands.router(), models.router(), chat.router()]
