"""Bot API calls that carry text, made the way the Bot API wants them (PROTOCOLS.md section 7).

Every text goes out in HTML parse mode (channels.telegram.render) and, when Telegram refuses the markup ("can't
parse entities"), once more as plain text. A 429 (TelegramRetryAfter) pauses for its retry_after: a final call
(a message that must arrive) is then retried, a live update (a draft or an edit of an answer still growing) is
dropped, since the next one carries newer text anyway. "message is not modified" counts as done. A user who
blocked the bot ends the answer (BotBlocked).
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters

from channels.telegram.render import to_html
from core.metrics import Metrics

log = logging.getLogger(__name__)

FINAL_ATTEMPTS = 6
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)  # a sign-in link must not be fetched for a preview


class BotBlocked(Exception):
    """The user blocked the bot or left the chat: nothing more can be sent there."""


class SendFailed(Exception):
    """A message that had to arrive could not be delivered after several attempts."""


class DraftsUnsupported(Exception):
    """The Bot API server does not offer sendMessageDraft (an older self-hosted server)."""


@dataclass(frozen=True)
class Target:
    chat_id: int
    private: bool
    reply_to: int | None = None  # groups: the question the answer replies to


Call = Callable[[str, str | None], Awaitable[Any]]  # (text, parse mode) -> the Bot API call


class Sender:
    def __init__(
        self, bot: Bot, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, metrics: Metrics | None = None
    ) -> None:
        self.bot = bot
        self.sleep = sleep
        self.metrics = metrics or Metrics(instance="telegram")  # the process's (its messages out)
        self.retry_pauses: list[int] = []  # every retry_after honoured (the benchmark reports them)

    async def send(
        self,
        target: Target,
        text: str,
        *,
        markup: InlineKeyboardMarkup | None = None,
        final: bool = True,
        markdown: bool = True,
    ) -> int | None:
        """Send `text` (Markdown, or plain text with `markdown=False`) as a new message; return its id (None when a
        live send was dropped)."""
        reply = (
            ReplyParameters(message_id=target.reply_to, allow_sending_without_reply=True) if target.reply_to else None
        )

        async def call(body: str, mode: str | None) -> Message:
            return await self.bot.send_message(
                target.chat_id, body, parse_mode=mode, reply_parameters=reply, reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )  # fmt: skip

        message = await self._deliver(call, text, final=final, markdown=markdown)
        if not isinstance(message, Message):
            return None
        self.metrics.inc("chatgate_channel_messages_total", channel="telegram", direction="out")
        return message.message_id

    async def edit(
        self, target: Target, message_id: int, text: str, *, markup: InlineKeyboardMarkup | None = None,
        final: bool = True, markdown: bool = True,
    ) -> bool:  # fmt: skip
        """Replace the text of one of the bot's messages; False when a live edit was dropped or the message is gone."""

        async def call(body: str, mode: str | None) -> Any:
            return await self.bot.edit_message_text(
                body, chat_id=target.chat_id, message_id=message_id, parse_mode=mode, reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )  # fmt: skip

        try:
            return await self._deliver(call, text, final=final, markdown=markdown) is not None
        except TelegramBadRequest as error:  # deleted by the user, or too old to edit
            log.info("telegram edit refused: %s", error.message)
            return False

    async def draft(self, target: Target, draft_id: int, text: str) -> bool:
        """Show `text` as the growing draft of an answer (private chats); False when dropped."""

        async def call(body: str, mode: str | None) -> Any:
            return await self.bot.send_message_draft(target.chat_id, draft_id, text=body, parse_mode=mode)

        try:
            return await self._deliver(call, text, final=False) is not None
        except (TelegramNotFound, TelegramBadRequest) as error:
            raise DraftsUnsupported(error.message) from error

    async def _deliver(self, call: Call, text: str, *, final: bool, markdown: bool = True) -> Any:
        """Make `call` with HTML, falling back to plain text; honour 429s; retry a final call on transient errors."""
        plain = False
        for attempt in range(FINAL_ATTEMPTS):
            try:
                if plain:
                    return await call(text, None)
                return await call(to_html(text) if markdown else html.escape(text, quote=False), "HTML")
            except TelegramRetryAfter as error:
                self.retry_pauses.append(error.retry_after)
                await self.sleep(error.retry_after)
                if not final:
                    return None
            except TelegramBadRequest as error:
                if "not modified" in error.message:
                    return True
                if "can't parse entities" not in error.message.lower() or plain:
                    raise
                plain = True  # Telegram refused our markup: the same text, unformatted
            except TelegramForbiddenError as error:
                raise BotBlocked(error.message) from error
            except (TelegramNetworkError, TelegramServerError) as error:
                if not final:
                    return None
                log.warning("telegram call failed (attempt %d): %s", attempt + 1, error)
                await self.sleep(min(2**attempt, 10))
        if final:
            raise SendFailed(f"gave up after {FINAL_ATTEMPTS} attempts")
        return None
