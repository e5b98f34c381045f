"""The bot of one process: the aiogram Bot on TELEGRAM_API_BASE, the Dispatcher built from the services, the store
dedupe of updates, and the handling tasks.

Webhook and polling both hand raw updates to `TelegramBot.take(update)`: the update_id is claimed in the store
(SET NX, ``tg:update:<id>``, two days: Telegram redelivers a webhook it thinks failed, and a new poller is handed
the updates the last one did not confirm), and only the process that claims it handles it, in a task of its own,
so a long answer never holds up the webhook response or the next poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Update
from aiogram.types.update import UpdateTypeLookupError
from aiogram.utils.token import TokenValidationError

from channels.telegram.routers import get_routers
from channels.telegram.sender import Sender
from channels.telegram.stream import Cadence
from core.logs import new_request_id, request_id
from core.services import Services

log = logging.getLogger(__name__)

UPDATE_DEDUPE_SECONDS = 2 * 86_400


class TelegramBot:
    def __init__(self, services: Services, cadence: Cadence | None = None) -> None:
        settings = services.settings
        self.services = services
        self.cadence = cadence or Cadence()
        self.drafts = settings.TELEGRAM_STREAMING == "draft"  # turned off for good if the server has none
        self._token = settings.TELEGRAM_BOT_TOKEN.get_secret_value()
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.TELEGRAM_API_BASE))
        try:
            self.bot = Bot(self._token, session=session)
        except TokenValidationError:
            raise ValueError("TELEGRAM_BOT_TOKEN is not a bot token (digits:letters, from @BotFather)") from None
        self.sender = Sender(self.bot, metrics=services.metrics)
        self.dispatcher = Dispatcher(services=services, telegram=self)
        self.dispatcher.include_routers(*get_routers())
        self._tasks: set[asyncio.Task[Any]] = set()

    def redact(self, error: object) -> str:
        """Say what went wrong without the token (it is part of every Bot API URL)."""
        return str(error).replace(self._token, "***") if self._token else str(error)

    async def username(self) -> str:
        """Return the bot's @username (asked once with getMe, then kept by aiogram)."""
        return (await self.bot.me()).username or ""

    async def claim(self, update_id: int) -> bool:
        """Claim an update for this process; False when any process already took it."""
        store = self.services.store
        key = store.keys.telegram_update(update_id)
        return bool(await store.redis.set(key, 1, nx=True, ex=UPDATE_DEDUPE_SECONDS))

    async def take(self, update: Update | dict[str, Any]) -> bool:
        """Handle an update (parsed, or raw JSON) once across every process; return False for one already taken."""
        update_id = update.update_id if isinstance(update, Update) else update.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            log.warning("telegram update without an update_id ignored")
            return False
        if isinstance(update, Update) and not _has_event(update):
            log.warning("telegram update %d ignored: it carries nothing this bot handles", update_id)
            return False
        if not await self.claim(update_id):
            return False
        self.spawn(self._handle(update))
        return True

    async def _handle(self, update: Update | dict[str, Any]) -> None:
        if request_id.get() == "-":  # polled: no HTTP request gave it an id (a webhook's task inherits its request's)
            request_id.set(new_request_id())
        try:
            if isinstance(update, Update):
                await self.dispatcher.feed_update(self.bot, update)
            else:
                await self.dispatcher.feed_raw_update(self.bot, update)
        except Exception:
            log.exception("telegram update failed")

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, grace: float = 10.0) -> None:
        """Wait for the updates being handled (at most `grace` seconds, then stop them)."""
        pending = set(self._tasks)
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def close(self) -> None:
        await self.drain()
        await self.bot.session.close()


def _has_event(update: Update) -> bool:
    """Tell whether an update carries an event (a message, a button press...): one with none (a bare update_id,
    or a kind newer than aiogram) has nothing to dispatch."""
    try:
        update.event_type  # noqa: B018  (a property that raises when there is no event)
    except UpdateTypeLookupError:
        return False
    return True
