"""The Telegram bot (aiogram 3): streamed answers, the shared commands, groups, one account and quota with the web.

Turned on by TELEGRAM_BOT_TOKEN. TELEGRAM_MODE=webhook registers `POST /telegram/webhook` on the web app (any
process takes updates) and sets the webhook from DOMAIN on start; TELEGRAM_MODE=polling runs one poller at a time
across processes. Parts: bot (Bot, Dispatcher, update dedupe), routers/ (one per feature), middleware (the
account behind an update), turn + stream + sender + render (answers), setup (menu, webhook), webhook, polling.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from channels import Runner
from channels.telegram.bot import TelegramBot
from channels.telegram.polling import run_poller
from channels.telegram.setup import configure_until_done
from channels.telegram.stream import Cadence
from channels.telegram.webhook import webhook_blueprint

if TYPE_CHECKING:
    from quart import Blueprint

    from core.services import Services

SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class TelegramChannel:
    name = "telegram"

    def __init__(
        self, services: Services, cadence: Cadence | None = None, *, poll_timeout: int = 25, lease_ttl: float = 30.0
    ) -> None:
        settings = services.settings
        self.webhook = settings.TELEGRAM_MODE == "webhook"
        if self.webhook and not SECRET_TOKEN.fullmatch(settings.TELEGRAM_WEBHOOK_SECRET.get_secret_value()):
            raise ValueError("TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_SECRET: 1-256 of A-Z a-z 0-9 _ -")
        if self.webhook and not settings.DOMAIN:
            raise ValueError("TELEGRAM_MODE=webhook needs DOMAIN: the public https address Telegram delivers to")
        self.telegram = TelegramBot(services, cadence)
        self.poll_timeout, self.lease_ttl = poll_timeout, lease_ttl

    def blueprint(self) -> Blueprint | None:
        return webhook_blueprint(self.telegram) if self.webhook else None

    def runners(self) -> list[Runner]:
        if self.webhook:
            return [self._configure_webhook]
        return [self._poll]

    async def _configure_webhook(self) -> None:
        await configure_until_done(self.telegram, webhook=True)

    async def _poll(self) -> None:
        await run_poller(self.telegram, poll_timeout=self.poll_timeout, lease_ttl=self.lease_ttl)
