"""What one chat call consumed, and how it is settled: a refund, or usage accounting plus the saved answer.

Settling never raises and finishes even when the caller's task is being cancelled (a client that went away):
a refund or a usage count lost to a disconnect would charge the user wrongly. When the store is away (restarting),
a refund or settlement is sent again for up to core.store.retry.RETRY_SECONDS; it takes effect once however often
it is sent (a refund by nature; the usage by its ticket, core.billing.usage; the answer by its message id).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.billing.plans import Plan
from core.billing.quotas import QuotaTicket, give_back, renew_stream
from core.billing.usage import record_usage
from core.chat.events import ChatStart
from core.chat.turns import PreparedTurn, close_turn, open_turn
from core.relay.catalogue import Model
from core.relay.stream import RelayStream, Usage
from core.store.retry import until_stored

if TYPE_CHECKING:
    from core.services import Services

log = logging.getLogger(__name__)

# Channels whose answer is one message out, counted when it is settled with something delivered; the bots count
# what they send themselves (an answer may go out in several messages, and commands are answered without a model).
ANSWERED_WHOLE = frozenset({"web", "api"})


@dataclass(frozen=True)
class Charged:
    """A call that passed every check and holds its quota slot: what the answer needs."""

    user_id: int
    model: Model
    plan: Plan
    ticket: QuotaTicket
    messages: list[dict[str, Any]]  # fitted into the model's window
    prompt_tokens: int | None  # counted while fitting, else None


@dataclass
class Charge:
    """The settlement of one charged call: refund its slot, or record its usage and save its answer."""

    services: Services
    charged: Charged
    prepared: PreparedTurn | None
    start: ChatStart | None = None
    slot_renewed_at: float = field(default_factory=time.monotonic)

    async def open(self, upstream: RelayStream | None = None) -> ChatStart | None:
        """Save the user's side of a conversation turn; on failure close the upstream and refund."""
        if self.prepared is None:
            return None
        svc = self.services
        try:
            self.start = await open_turn(
                svc.store, svc.settings, self.charged.user_id, self.prepared, self.charged.model.id, svc.clock()
            )
        except BaseException:
            if upstream is not None:
                await upstream.aclose()
            await self.refund()
            raise
        return self.start

    @property
    def channel(self) -> str:
        """Where the call came from: a conversation turn's channel, else the API."""
        return self.prepared.turn.channel if self.prepared is not None else "api"

    async def refund(self) -> None:
        """Give back the window slot, the token reservation and the stream slot of a call that got no answer."""
        await shielded(give_back(self.services.store, self.charged.ticket), "refund")

    def slot_due(self) -> bool:
        """Tell whether the call's stream slot (or its token reservation) is a third through its lifetime (cheap:
        checked on every piece)."""
        settings = self.services.settings
        due = time.monotonic() - self.slot_renewed_at > settings.STREAM_SLOT_SECONDS / 3
        return due and (settings.MAX_STREAMS_PER_USER > 0 or bool(self.charged.plan.daily_tokens))

    async def renew_slot(self) -> None:
        """Keep the stream slot and the token reservation alive while the answer runs (a dead process's expire)."""
        self.slot_renewed_at = time.monotonic()
        svc = self.services
        await shielded(
            renew_stream(svc.store, self.charged.ticket, svc.settings.STREAM_SLOT_SECONDS, svc.clock()), "slot renewal"
        )

    async def settle(self, usage: Usage, text: str) -> bool:
        """Record usage (replacing the daily-token reservation), free the stream slot and save the answer; never
        raises. True when settled (now or by an earlier attempt), False when the store stayed away."""
        if text and self.channel in ANSWERED_WHOLE:
            self.services.metrics.inc("chatgate_channel_messages_total", channel=self.channel, direction="out")
        settled: list[bool] = []

        async def work() -> None:
            await until_stored(lambda again: self._settle(usage, text, again), "settling a chat call")
            settled.append(True)

        await shielded(work(), "usage accounting")
        return bool(settled)

    async def _settle(self, usage: Usage, text: str, again: bool) -> None:
        svc, charged, now = self.services, self.charged, self.services.clock()
        await record_usage(
            svc.store, charged.user_id, charged.model.id, usage.prompt_tokens, usage.completion_tokens, now,
            daily_tokens=bool(charged.plan.daily_tokens), ticket=charged.ticket, again=again,
        )  # fmt: skip
        if self.prepared is not None and self.start is not None:
            await close_turn(
                svc.store, svc.settings, charged.user_id, self.prepared, self.start, text, charged.model.id, now,
                usage.completion_tokens, again=again,
            )  # fmt: skip


async def shielded(work: Any, what: str) -> None:
    """Finish store writes even when the caller's task is being cancelled (a client that went away)."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("chat %s failed", what)
