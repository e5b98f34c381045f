"""Getting answers to followers within WeChat's rules, in both modes, with all state in the store (mailbox.py).

Subscription mode (passive replies only): the first delivery of a message starts its job in the background; every
delivery then waits for the reply a little under WeChat's timeout (WECHAT_TIMEOUT_SECONDS, 5 s) and answers with
it. When it is not ready, the delivery stays silent past the timeout, so WeChat gives up on that request and
retries; on the third (last) delivery it answers that the answer is being prepared, and the answer is handed over
on the follower's next message. Answers longer than 2048 bytes go out one part per message, each part but the last
ending with a "reply anything to continue" line.

Service mode (verified service accounts): every delivery is acknowledged at once (empty `success`); the first
starts the job, which pushes the answer through the customer-service API in order, at most five messages per user
message (WeChat's allowance); a longer answer's fifth message asks for a reply and the rest waits in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from channels.wechat.answers import Answerer, Reply, is_chat
from channels.wechat.api import OUT_OF_SENDS, WeChatApi, WeChatApiError
from channels.wechat.codec import Inbound
from channels.wechat.mailbox import Mailbox, job_lease
from channels.wechat.messages import CATALOGUE
from channels.wechat.plaintext import split_message
from core.accounts.channel_identities import account_of
from core.services import Services
from core.store.lease import holding

log = logging.getLogger(__name__)

DELIVERIES = 3  # WeChat's tries per message
SENDS_PER_MESSAGE = 5  # customer-service messages a user message allows (within 48 h)
POLL_SECONDS = 0.05
SILENT_TIMEOUTS = 2  # a delivery with nothing to say yet answers only after twice WeChat's timeout
LOST_CHECK_POLLS = 20  # on the first poll, then about once a second
JOB_LEASE_SECONDS = 30.0


class Delivery:
    """Handles the followers' messages of one official account in this process."""

    def __init__(self, services: Services, api: WeChatApi | None = None) -> None:
        self.services = services
        self.settings = services.settings
        self.mailbox = Mailbox(services.store)
        self.answerer = Answerer(services)
        self.api = api
        self.timeout = services.settings.WECHAT_TIMEOUT_SECONDS
        self.window = self.timeout - min(0.5, self.timeout / 10)  # answer this long after arrival at the latest
        self._tasks: set[asyncio.Task[None]] = set()
        self._wakers: dict[str, asyncio.Event] = {}

    @property
    def service_mode(self) -> bool:
        return self.settings.WECHAT_MODE == "service"

    async def handle(self, inbound: Inbound) -> str | None:
        """Return the passive reply to this delivery, or None to answer `success` (nothing, or not yet)."""
        reply = await self._handle(inbound)
        if reply:
            self._count("out")
        return reply

    def _count(self, direction: str) -> None:
        """Count a follower's message (once, however often WeChat delivers it) or a message sent to a follower."""
        self.services.metrics.inc("chatgate_channel_messages_total", channel="wechat", direction=direction)

    async def _handle(self, inbound: Inbound) -> str | None:
        started = asyncio.get_running_loop().time()
        if inbound.kind in ("unsubscribe", "event"):
            await self.answerer.answer(inbound)  # recorded; nothing to answer
            return None
        now = self.services.clock()
        passive = not self.service_mode
        arrival = await self.mailbox.arrive(
            inbound.openid, inbound.key, may_fetch=is_chat(inbound), now=now, take=passive
        )
        if arrival.deliveries == 1:  # the first delivery anywhere (WeChat's retries are the same message)
            self._count("in")
        if not passive:
            if arrival.deliveries == 1:
                self._spawn(self._push_job(inbound, arrival.kind))
            return None
        if arrival.state == "done":  # a retry of an answered message, or a fetch that found its part
            return arrival.reply or ""
        if arrival.deliveries == 1 and arrival.kind == "job":
            self._spawn(self._job(inbound))
        return await self._hold(inbound, arrival.kind, arrival.deliveries >= DELIVERIES, started)

    # --- subscription mode --------------------------------------------------------------------------------------
    async def _hold(self, inbound: Inbound, kind: str, last: bool, started: float) -> str | None:
        loop = asyncio.get_running_loop()
        waker = self._wakers.setdefault(_name(inbound), asyncio.Event())
        polls = 0
        try:
            while True:
                polls += 1
                reply, kind = await self._poll(inbound, kind, check_lost=polls % LOST_CHECK_POLLS == 1)
                if reply is not None:
                    return reply
                left = started + self.window - loop.time()
                if left <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waker.wait(), min(POLL_SECONDS, left))
        finally:
            self._wakers.pop(_name(inbound), None)
        if last:
            reply = await self.mailbox.give_up(inbound.openid, inbound.key)
            return reply if reply is not None else await self._still_thinking(inbound)
        # Not ready: stay silent until WeChat has surely given up on this request (an early `success` would end its
        # retries and the answer would never be delivered); its retry comes to any process.
        await asyncio.sleep(max(0.0, started + SILENT_TIMEOUTS * self.timeout - loop.time()))
        return None

    async def _poll(self, inbound: Inbound, kind: str, *, check_lost: bool) -> tuple[str | None, str]:
        """Look once for this delivery's reply; return (reply or None, the message's kind now). With `check_lost`,
        also finish the awaited jobs that died with their process."""
        openid, key = inbound.openid, inbound.key
        if kind == "fetch":
            taken = await self.mailbox.take(openid, key)
            if taken.status in ("done", "taken"):
                return taken.parts[0] if taken.parts else "", kind
            if taken.status == "start":  # nothing left to hand over: the message is answered on its own
                self._spawn(self._job(inbound))
                return None, "job"
            if taken.status == "wait" and check_lost:
                await self._finish_lost(openid, await self.mailbox.waiting(openid))
            return None, "job" if taken.status == "job" else kind
        state, reply, _at = await self.mailbox.reply_of(openid, key)
        if state == "done":
            return reply or "", kind
        if check_lost:
            await self._finish_lost(openid, [key])
        return None, kind

    async def _job(self, inbound: Inbound) -> None:
        """Answer a message and place the answer (reply, outbox) for whichever delivery or message takes it."""
        async with holding(self.services.store, job_lease(inbound.openid, inbound.key), JOB_LEASE_SECONDS) as held:
            if not held:
                return
            reply = await self._answer(inbound)
            parts = split_message(reply.text, CATALOGUE.text(reply.lang, "wechat.continue")) if reply.text else [""]
            await self.mailbox.finish(inbound.openid, inbound.key, parts)
        waker = self._wakers.get(_name(inbound))
        if waker is not None:
            waker.set()

    async def _answer(self, inbound: Inbound) -> Reply:
        try:
            return await self.answerer.answer(inbound)
        except Exception:
            log.exception("answering a WeChat message failed")
            lang = self.settings.DEFAULT_LANGUAGE
            return Reply(CATALOGUE.text(lang, "error.internal_error"), lang)

    async def _finish_lost(self, openid: str, keys: list[str]) -> None:
        """Finish jobs whose process died with an apology, so nobody waits for them."""
        lost = await self.mailbox.lost_jobs(openid, keys, self.services.clock())
        for key in lost:
            log.warning("a WeChat job was lost with its process; the follower is asked to send again")
            lang = await self._language(openid)
            await self.mailbox.finish(openid, key, [CATALOGUE.text(lang, "wechat.lost")])

    async def _still_thinking(self, inbound: Inbound) -> str:
        return CATALOGUE.text(await self._language(inbound.openid), "wechat.still_thinking")

    async def _language(self, openid: str) -> str:
        user = await account_of(self.services.store, "wechat", openid)
        return (user.lang if user is not None and user.lang else "") or self.settings.DEFAULT_LANGUAGE

    # --- service mode -------------------------------------------------------------------------------------------
    async def _push_job(self, inbound: Inbound, kind: str) -> None:
        """Push a message's answer (or the parts waiting for it) through the customer-service API, in order."""
        async with holding(self.services.store, job_lease(inbound.openid, inbound.key), JOB_LEASE_SECONDS) as held:
            if not held:
                return
            if kind == "fetch":
                taken = await self.mailbox.take(inbound.openid, inbound.key, SENDS_PER_MESSAGE)
                if taken.status == "taken":
                    await self._push(inbound.openid, taken.parts)
                    return
            reply = await self._answer(inbound)
            if reply.text:
                parts = split_message(
                    reply.text, CATALOGUE.text(reply.lang, "wechat.continue"), every=SENDS_PER_MESSAGE
                )
                await self._push(inbound.openid, parts)

    async def _push(self, openid: str, parts: list[str]) -> None:
        assert self.api is not None, "service mode needs the API client"
        now, later = parts[:SENDS_PER_MESSAGE], parts[SENDS_PER_MESSAGE:]
        for index, part in enumerate(now):
            try:
                await self.api.send_text(openid, part)
                self._count("out")
            except WeChatApiError as error:
                if error.errcode == OUT_OF_SENDS:
                    later = now[index:] + later  # this message's allowance is used up: the rest waits
                    break
                log.warning("WeChat customer-service message not sent (%s); %d part(s) dropped",
                            error, len(parts) - index)  # fmt: skip
                return
        await self.mailbox.queue(openid, later)

    # --- tasks --------------------------------------------------------------------------------------------------
    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        """Run a job beyond the request that started it (WeChat's request ends long before a slow answer)."""
        task = asyncio.ensure_future(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, grace: float) -> None:
        """Let running jobs finish (the server is stopping); cancel what is left after `grace` seconds."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def _name(inbound: Inbound) -> str:
    return f"{inbound.openid}:{inbound.key}"
