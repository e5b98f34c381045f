"""Polling mode: one process at a time asks Telegram for updates (getUpdates, long polling).

The poller runs under a store lease (core.store.lease.run_exclusive, lease `telegram-poller`): every `chatgate
serve` process competes, one polls, and another takes over within the lease's TTL when it stops. Each update goes
through the same store dedupe as webhook updates, so one that a dead poller never confirmed is handled once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramRetryAfter, TelegramUnauthorizedError
from aiogram.methods import GetUpdates

from channels.telegram.setup import ALLOWED_UPDATES, configure_until_done
from core.store.lease import run_exclusive

if TYPE_CHECKING:
    from channels.telegram.bot import TelegramBot

log = logging.getLogger(__name__)

POLLER_LEASE = "telegram-poller"
BACKOFF_MAX = 30.0


async def poll_updates(telegram: TelegramBot, poll_timeout: int) -> None:
    """Set up for polling, then fetch and hand over updates until cancelled."""
    await configure_until_done(telegram, webhook=False)
    offset: int | None = None
    failures = 0
    while True:
        try:
            call = GetUpdates(offset=offset, timeout=poll_timeout, allowed_updates=ALLOWED_UPDATES)
            updates = await telegram.bot(call, request_timeout=poll_timeout + 10)
            failures = 0
        except TelegramUnauthorizedError:
            log.error("Telegram refused TELEGRAM_BOT_TOKEN (401): polling stopped")
            raise
        except TelegramRetryAfter as error:
            await asyncio.sleep(error.retry_after)
            continue
        except Exception as error:  # another bot instance (409), the network, Telegram's 5xx
            failures += 1
            log.warning("telegram getUpdates failed: %s", telegram.redact(error))
            await asyncio.sleep(min(BACKOFF_MAX, 0.5 * 2**failures))
            continue
        for update in updates:
            offset = update.update_id + 1  # confirms it at the next call
            await telegram.take(update)


async def run_poller(telegram: TelegramBot, *, poll_timeout: int = 25, lease_ttl: float = 30.0) -> None:
    """Poll whenever this process holds the poller lease; close the bot when stopped."""
    try:
        await run_exclusive(
            telegram.services.store, POLLER_LEASE, lambda: poll_updates(telegram, poll_timeout), ttl=lease_ttl
        )
    finally:
        await telegram.close()
