"""Texts the remote moderation providers have passed, remembered by digest for a day.

An API caller resends its whole history on every call; remembering what the remote (paid, slower) providers
passed means each text is sent to them once, however long the conversation grows. Keyed by the providers' names
too, so changing TEXT_SECURITY checks everything again. Only real answers are remembered: a text let through
because a provider was down (fail-open) is checked again next time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from core.store.connection import Store

PASS_TTL_SECONDS = 86_400


def _key(store: Store, providers: str, text: str) -> str:
    return store.keys.moderation_passed(hashlib.sha256(f"{providers}\0{text}".encode()).hexdigest())


async def not_yet_passed(store: Store, providers: str, texts: Sequence[str]) -> list[str]:
    """Return the texts these providers have not passed in the last day (one pipelined round trip)."""
    pipe = store.redis.pipeline(transaction=False)
    for text in texts:
        pipe.exists(_key(store, providers, text))
    found = await pipe.execute()
    return [text for text, seen in zip(texts, found, strict=True) if not seen]


async def remember_passed(store: Store, providers: str, texts: Sequence[str]) -> None:
    """Remember that these providers passed these texts."""
    pipe = store.redis.pipeline(transaction=False)
    for text in texts:
        pipe.set(_key(store, providers, text), 1, ex=PASS_TTL_SECONDS)
    await pipe.execute()
