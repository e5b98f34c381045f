"""A chat message answered: the user's words through the channel seam, the answer streamed into the chat.

One answer at a time per user and chat (a store lease, so across processes): a second message waits for the
first answer, then continues the same conversation. Errors before the answer (quota, moderation, no model) are
answered in the user's language; an answer that stops half-way keeps what arrived and says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from channels.messages import CATALOGUE, error_text
from channels.telegram.sender import Target
from channels.telegram.stream import AnswerWriter
from core.chat.channel import run_channel_turn
from core.chat.events import ChatDelta, ChatError
from core.errors import CoreError
from core.store.connection import Store
from core.store.lease import holding

if TYPE_CHECKING:
    from channels.telegram.bot import TelegramBot
    from core.accounts.users import User

log = logging.getLogger(__name__)

TURN_LEASE_SECONDS = 30.0  # renewed while the answer streams; frees itself if the process dies
WAIT_FOR_PREVIOUS_SECONDS = 120.0


@contextlib.asynccontextmanager
async def one_answer_at_a_time(store: Store, name: str, wait: float) -> AsyncIterator[bool]:
    """Hold the lease `name` while the block runs, waiting up to `wait` seconds for it; yield False if never got."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        async with holding(store, name, TURN_LEASE_SECONDS) as held:
            if held or loop.time() >= deadline:
                yield held
                return
        await asyncio.sleep(0.2)


async def answer_turn(
    telegram: TelegramBot, target: Target, user: User, lang: str, text: str, thread: str = ""
) -> None:
    """Answer `text` from `user` in the chat of `target`, streaming the answer in."""
    services = telegram.services
    writer = AnswerWriter(telegram.sender, target, drafts=telegram.drafts, cadence=telegram.cadence)
    writer.start()
    note = ""
    lease = f"tg-answer:{user.id}:{target.chat_id}"
    async with one_answer_at_a_time(services.store, lease, WAIT_FOR_PREVIOUS_SECONDS) as mine:
        if not mine:
            await writer.finish(CATALOGUE.text(lang, "bot.busy"))
            return
        try:
            note = await _stream(telegram, writer, user, lang, text, thread)
        except CoreError as error:
            note = error_text(error, lang)
        except Exception:
            log.exception("telegram answer failed")
            note = CATALOGUE.text(lang, "error.internal_error")
        if writer.drafts_refused:
            telegram.drafts = False
        if not note and not writer.text.strip():
            note = CATALOGUE.text(lang, "bot.empty_answer")
        await writer.finish(note)


async def _stream(telegram: TelegramBot, writer: AnswerWriter, user: User, lang: str, text: str, thread: str) -> str:
    """Feed the answer's text to the writer; return a note when it stopped half-way ("" when it ended well)."""
    stream = await run_channel_turn(telegram.services, user, "telegram", text, thread=thread)
    note = ""
    try:
        async for event in stream:
            if isinstance(event, ChatDelta):
                writer.feed(event.content)
            elif isinstance(event, ChatError):
                reason = error_text(event.error, lang)
                note = CATALOGUE.text(lang, "bot.answer_stopped", reason=reason) if writer.text.strip() else reason
    finally:
        await stream.aclose()
    return note
