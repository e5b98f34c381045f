"""Guarding a streamed answer: keywords on every piece (split words are found across pieces), remote providers on
each full chunk of MODERATION_OUTPUT_CHUNK_CHARS plus some overlap with the chunk before."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from core.errors import ContentBlocked
from core.moderation.keywords import KeywordStream
from core.moderation.verdicts import Verdict

if TYPE_CHECKING:
    from core.moderation.pipeline import Moderation

OUTPUT_OVERLAP_CHARS = 50
EXCERPT_WINDOW = 400


class OutputGuard:
    """Check a streamed answer as it grows; `feed` and `finish` raise ContentBlocked to stop the stream."""

    def __init__(self, moderation: Moderation, user_id: str, chunk_chars: int, channel: str = "") -> None:
        self._mod = moderation
        self._user_id = user_id
        self._channel = channel
        self._chunk = max(chunk_chars, 1)
        self._active = moderation.enabled
        self._use_keywords = moderation.keywords is not None
        self._stream: KeywordStream | None = None
        self._pending = ""  # output not yet seen by the remote providers
        self._context = ""  # the tail of the last remote-checked text, re-sent as overlap
        self._recent: list[str] = []  # the latest output, for the log excerpt (joined only when blocking)
        self._recent_chars = 0
        self._error: ContentBlocked | None = None
        self._finished = False

    async def feed(self, delta: str) -> None:
        """Take the next piece of output; raise ContentBlocked if the answer must stop here."""
        if self._error is not None:
            raise self._error
        if not self._active or not delta:
            return
        self._note(delta)
        if self._use_keywords:
            if self._stream is not None:  # the common case, without another coroutine per delta
                found = self._stream.feed(delta)
                if found:
                    await self._block(Verdict("block", "keywords", "keyword", tuple(sorted(found))), self.recent)
            else:
                await self._scan_keywords(delta)
        if not self._mod.remote:
            return
        self._pending += delta
        if len(self._pending) >= self._chunk:
            cut = len(self._pending) // self._chunk * self._chunk
            ready, self._pending = self._pending[:cut], self._pending[cut:]
            await self._check_remote(ready)

    @property
    def recent(self) -> str:
        """Return the latest output (up to EXCERPT_WINDOW characters), for the log excerpt."""
        return "".join(self._recent)[-EXCERPT_WINDOW:]

    def _note(self, delta: str) -> None:
        self._recent.append(delta)
        self._recent_chars += len(delta)
        if self._recent_chars > 2 * EXCERPT_WINDOW:  # trim now and then, not on every delta
            self._recent = [self.recent]
            self._recent_chars = len(self._recent[0])

    async def finish(self) -> None:
        """Check what is left at the end of the answer."""
        if self._error is not None:
            raise self._error
        if self._finished or not self._active:
            return
        self._finished = True
        if self._pending:
            ready, self._pending = self._pending, ""
            await self._check_remote(ready)

    async def _scan_keywords(self, delta: str) -> None:
        if self._stream is None:
            assert self._mod.keywords is not None
            try:
                self._stream = await self._mod.keywords.stream()
            except Exception as exc:
                verdict = self._mod.on_failure(self._mod.keywords.name, exc)
                self._use_keywords = False
                if verdict.decision == "block":
                    await self._block(verdict, self.recent)
                return
        found = self._stream.feed(delta)
        if found:
            await self._block(Verdict("block", "keywords", "keyword", tuple(sorted(found))), self.recent)

    async def _check_remote(self, ready: str) -> None:
        text = self._context + ready
        self._context = text[-OUTPUT_OVERLAP_CHARS:]
        verdict = await self._mod.judge(text, self._user_id, self._mod.remote)
        if verdict is not None:
            await self._block(verdict, text)

    async def _block(self, verdict: Verdict, text: str) -> NoReturn:
        try:
            await self._mod.blocked(verdict, "output", text, self._user_id, self._channel)
        except ContentBlocked as error:
            self._error = error
            raise
