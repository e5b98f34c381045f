"""Webhook mode: `POST /telegram/webhook` on the web app (registered by the composition root).

The secret header is compared in constant time (401 and nothing runs otherwise); the update is claimed in the store
(a repeated delivery, to this process or another, is answered 200 and handled once) and handled in the background:
Telegram gets its 200 at once, whatever the answer's length. A body that is not JSON, or not a JSON object, gets
400; a JSON object that is not a Telegram update (aiogram cannot read it) is answered 200, so that Telegram's queue
moves on, logged, and neither claimed nor handled.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

import orjson
from aiogram.types import Update
from pydantic import ValidationError
from quart import Blueprint, request

from channels.telegram.setup import WEBHOOK_PATH
from core.errors import InvalidInput, NotAuthenticated

if TYPE_CHECKING:
    from channels.telegram.bot import TelegramBot

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_blueprint(telegram: TelegramBot) -> Blueprint:
    bp = Blueprint("telegram_webhook", __name__)
    secret = telegram.services.settings.TELEGRAM_WEBHOOK_SECRET.get_secret_value().encode()

    @bp.post(WEBHOOK_PATH)
    async def webhook() -> dict[str, Any]:
        sent = request.headers.get(SECRET_HEADER, "").encode()
        if not secret or not secrets.compare_digest(sent, secret):
            raise NotAuthenticated("The webhook secret is wrong.")
        try:
            update = orjson.loads(await request.get_data())
        except orjson.JSONDecodeError:
            raise InvalidInput("The update is not JSON.") from None
        if not isinstance(update, dict):
            raise InvalidInput("The update is not a JSON object.")
        try:  # read here, before it is claimed: an update aiogram cannot read is ignored, not stored or retried
            parsed = Update.model_validate(update, context={"bot": telegram.bot})
        except ValidationError as error:
            log.warning("telegram webhook: ignored a body that is not an update (%d problems)", error.error_count())
            return {"ok": True}
        await telegram.take(parsed)
        return {"ok": True}

    @bp.after_app_serving
    async def close() -> None:
        await telegram.close()

    return bp
