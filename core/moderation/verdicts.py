"""What every moderation provider returns, the error it raises when it cannot answer, and text chunking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Decision = Literal["pass", "review", "block"]
SEVERITY: dict[Decision, int] = {"pass": 0, "review": 1, "block": 2}


@dataclass(frozen=True)
class Verdict:
    """One provider's answer: the decision, who gave it, why (label, matched words, free-text reason)."""

    decision: Decision
    provider: str
    label: str = ""
    words: tuple[str, ...] = ()
    reason: str = ""


class ProviderError(Exception):
    """A provider could not give a verdict (down, timed out, refused our credentials, answered garbage).

    The message is written by us and never carries a URL, token or key.
    """

    def __init__(self, provider: str, message: str) -> None:
        self.provider = provider
        super().__init__(f"{provider}: {message}")


class Provider(Protocol):
    """A moderation provider: one remote API (or the in-process keyword list)."""

    name: str

    async def check(self, text: str, user_id: str) -> Verdict:
        """Judge one text; raise ProviderError when no verdict can be had."""
        ...

    def missing_settings(self) -> list[str]:
        """Name the settings this provider needs but does not have."""
        ...


def merge_chunks(results: list[Verdict | BaseException], provider: str) -> Verdict:
    """Merge the outcomes of the chunks of one text: a block anywhere wins over a failed chunk, which fails the rest."""
    verdicts = [result for result in results if isinstance(result, Verdict)]
    if any(verdict.decision == "block" for verdict in verdicts):
        return worst(verdicts, provider)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return worst(verdicts, provider)


def worst(verdicts: list[Verdict], provider: str) -> Verdict:
    """Merge the verdicts on the chunks of one text: the most severe wins, its words joined with the others'."""
    if not verdicts:
        return Verdict("pass", provider)
    top = max(verdicts, key=lambda verdict: SEVERITY[verdict.decision])
    words = tuple(dict.fromkeys(w for v in verdicts if v.decision == top.decision for w in v.words))
    return Verdict(top.decision, provider, top.label, words, top.reason)


def split_chars(text: str, limit: int, overlap: int) -> list[str]:
    """Cut text into pieces of at most `limit` characters; consecutive pieces share `overlap` characters.

    The overlap lets a provider see a word that straddles a cut.
    """
    if len(text) <= limit:
        return [text]
    step = max(limit - overlap, 1)
    return [text[start : start + limit] for start in range(0, len(text) - overlap, step)]


def _is_continuation(byte: int) -> bool:
    return byte & 0xC0 == 0x80


def split_utf8(text: str, limit: int, overlap: int) -> list[str]:
    """Cut text into pieces of at most `limit` UTF-8 bytes, never inside a character, overlapping ~`overlap` bytes."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return [text]
    pieces: list[str] = []
    start = 0
    while True:
        end = min(start + limit, len(data))
        while end < len(data) and _is_continuation(data[end]):
            end -= 1
        pieces.append(data[start:end].decode("utf-8"))
        if end >= len(data):
            return pieces
        start = max(end - overlap, start + 1)
        while _is_continuation(data[start]):
            start += 1


def excerpt(text: str, words: tuple[str, ...] = (), width: int = 160) -> str:
    """Return a short piece of text for the log: around the first matched word if there is one."""
    text = " ".join(text.split())
    at = -1
    if words:
        lowered = text.lower()
        at = min((i for i in (lowered.find(word) for word in words) if i >= 0), default=-1)
    if at < 0 or len(text) <= width:
        return text[:width]
    start = max(at - width // 3, 0)
    return ("…" if start else "") + text[start : start + width]
