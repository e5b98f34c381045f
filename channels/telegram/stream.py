"""One answer shown as it streams: typing while waiting, then text that grows in place, then the whole answer.

Private chats grow a draft (sendMessageDraft) and finish it with sendMessage, or, with TELEGRAM_STREAMING=edit
or a Bot API server without drafts, send a message and edit it; groups always edit. Updates go out at most once
per `interval` (inside the flood limits: ~1 s per private chat, ~20 edits a minute per group; the final messages
too), carry all the text that arrived meanwhile, and are skipped when nothing changed. The first text goes out as
soon as it arrives. When the answer outgrows a message (channels.telegram.render.split_parts), the full part is
sent for good and the rest grows in a new one, so nothing is cut. A 429 pauses the updates for its retry_after
(channels.telegram.sender).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass

from channels.telegram.render import split_parts
from channels.telegram.sender import BotBlocked, DraftsUnsupported, Sender, SendFailed, Target

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cadence:
    private: float = 1.0  # seconds between live updates of an answer in a private chat
    group: float = 3.0  # between edits in a group
    typing: float = 4.5  # a typing action shows for ~5 s


class AnswerWriter:
    def __init__(self, sender: Sender, target: Target, *, drafts: bool, cadence: Cadence) -> None:
        self.sender, self.target = sender, target
        self.drafts = drafts and target.private
        self.drafts_refused = False  # the server has no sendMessageDraft: the caller may stop trying it
        self.interval = cadence.private if target.private else cadence.group
        self.typing_every = cadence.typing
        self.text = ""
        self.first_visible_at: float | None = None  # time.monotonic() of the first text the user saw
        self._done = 0  # parts sent for good
        self._live_id: int | None = None  # edits: the message showing the growing part
        self._shown = ""  # the growing part as last shown
        self._draft_base = secrets.randbelow(2**30) + 1
        self._last_message = 0.0  # time.monotonic() of the last sendMessage / editMessageText
        self._last_draft = 0.0  # and of the last sendMessageDraft
        self._finishing = False
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._typist: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Show typing and start pushing updates (call before waiting for the model)."""
        self._typist = asyncio.ensure_future(self._typing())
        self._tasks = [asyncio.ensure_future(self._pump()), self._typist]

    def feed(self, delta: str) -> None:
        """Add answer text; it is shown with the next update."""
        if delta:
            self.text += delta
            self._wake.set()

    async def finish(self, note: str = "") -> None:
        """Send the whole answer for good (plus `note`, e.g. why it stopped); stop typing and updates."""
        self._closing.set()
        self._wake.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._finishing = True
        if note:
            self.text = f"{self.text.rstrip()}\n\n{note}" if self.text.strip() else note
        try:
            for part in split_parts(self.text)[self._done :]:
                await self._settle(part)
        except (BotBlocked, SendFailed) as error:
            log.warning("telegram answer to chat %s not delivered: %s", self.target.chat_id, error)

    async def _pump(self) -> None:
        try:
            while not self._closing.is_set():
                await self._wake.wait()
                self._wake.clear()
                if self._closing.is_set():
                    return
                await self._show_live()
        except (BotBlocked, SendFailed) as error:
            log.info("telegram live updates stopped: %s", error)

    async def _typing(self) -> None:
        while self.first_visible_at is None and not self._closing.is_set():
            with contextlib.suppress(Exception):  # typing is a courtesy: never let it break an answer
                await self.sender.bot.send_chat_action(self.target.chat_id, "typing")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout=self.typing_every)

    def _visible(self) -> None:
        if self.first_visible_at is None:
            self.first_visible_at = time.monotonic()

    async def _stop_typing(self) -> None:
        """Stop the typing action before the first text goes out (it would show after it otherwise)."""
        if self._typist is not None and not self._typist.done():
            self._typist.cancel()
            await asyncio.gather(self._typist, return_exceptions=True)

    async def _paced(self, draft: bool) -> bool:
        """Wait until the chat may get the next call; False when the answer ended meanwhile (live updates only).

        Messages and edits keep the cadence among themselves; a draft keeps it after any call. So the message that
        completes a drafted answer goes out at once (it is the answer's first message), as does a first edit.
        """
        last = max(self._last_draft, self._last_message) if draft else self._last_message
        wait = last + self.interval - time.monotonic()
        if wait > 0 and self._finishing:
            await asyncio.sleep(wait)
        elif wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout=wait)
        return self._finishing or not self._closing.is_set()

    def _called(self, draft: bool) -> None:
        if draft:
            self._last_draft = time.monotonic()
        else:
            self._last_message = time.monotonic()

    async def _show_live(self) -> None:
        """Send the parts that are complete for good, then show the growing one (unless it did not change)."""
        if not await self._paced(self.drafts):
            return
        parts = split_parts(self.text)  # after the wait: all the text that arrived meanwhile
        while self._done < len(parts) - 1 and not self._closing.is_set():
            await self._settle(parts[self._done])
        live = parts[-1]
        drafting = self.drafts
        if not live.strip() or live == self._shown or self._done < len(parts) - 1 or not await self._paced(drafting):
            return
        await self._stop_typing()
        try:
            shown = await self._show(live)
        finally:
            self._called(drafting and self.drafts)  # a refused draft was followed by a message
        if shown:
            self._shown = live
            self._visible()

    async def _show(self, live: str) -> bool:
        shown = False
        if self.drafts:
            try:
                shown = await self.sender.draft(self.target, self._draft_base + self._done, live)
            except DraftsUnsupported as error:
                log.warning("sendMessageDraft refused (%s): answers grow by edits instead", error)
                self.drafts, self.drafts_refused = False, True
        if not self.drafts and self._live_id is None:
            self._live_id = await self.sender.send(self.target, live, final=False)
            shown = self._live_id is not None
        elif not self.drafts and self._live_id is not None:
            shown = await self.sender.edit(self.target, self._live_id, live, final=False)
        return shown

    async def _settle(self, part: str) -> None:
        """Send a part for good: finish the draft with a message, or give the edited message its final text."""
        unchanged = self._live_id is not None and not self.drafts and part == self._shown
        if not unchanged:
            if not await self._paced(draft=False):
                return  # the answer ended meanwhile: finish() sends it
            await self._stop_typing()
            try:
                await self._send_part(part)
            finally:
                self._called(draft=False)
        self._visible()
        self._live_id, self._shown = None, ""
        self._done += 1

    async def _send_part(self, part: str) -> None:
        if self._live_id is not None and not self.drafts:
            if not await self.sender.edit(self.target, self._live_id, part):
                await self.sender.send(self.target, part)  # the message was deleted meanwhile: send it anew
        else:
            await self.sender.send(self.target, part)
