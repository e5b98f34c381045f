"""The blocked-items log for the dashboard: the `mod:log` stream, capped near MAX_ENTRIES."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from core.errors import InvalidInput
from core.moderation.verdicts import Verdict, excerpt
from core.store.connection import Store

MAX_ENTRIES = 10_000
STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
Direction = Literal["input", "output"]


@dataclass(frozen=True)
class BlockRecord:
    """One blocked text, as the dashboard shows it."""

    id: str
    time: float
    user_id: str
    direction: str
    provider: str
    label: str
    words: tuple[str, ...]
    excerpt: str
    channel: str = ""  # web, wechat, telegram or api ("" in entries written before it was recorded)


async def log_block(
    store: Store, *, user_id: str, direction: Direction, verdict: Verdict, text: str, now: float, channel: str = ""
) -> str:
    """Append one blocked item (a short excerpt, never the whole text); return its stream id."""
    fields = {
        "time": f"{now:.3f}",
        "user_id": user_id,
        "direction": direction,
        "provider": verdict.provider,
        "label": verdict.label,
        "words": "\n".join(verdict.words),
        "excerpt": excerpt(text, verdict.words),
        "channel": channel,
    }
    entry_id = await store.redis.xadd(
        store.keys.moderation_log(),
        fields,  # type: ignore[arg-type]
        maxlen=MAX_ENTRIES,
        approximate=True,
    )
    return str(entry_id)


async def recent_blocks(store: Store, n: int = 50) -> list[BlockRecord]:
    """Return the newest `n` blocked items, newest first."""
    if n <= 0:
        return []
    entries: list[tuple[str, dict[str, str]]] = await store.redis.xrevrange(  # type: ignore[assignment]
        store.keys.moderation_log(), count=n
    )
    return [_record(entry_id, fields) for entry_id, fields in entries]


async def list_blocks(store: Store, cursor: str | None = None, limit: int = 50) -> tuple[list[BlockRecord], str | None]:
    """Return a page of blocked items older than `cursor` (an entry id), newest first, and the next cursor."""
    if cursor is not None and not STREAM_ID.match(cursor):
        raise InvalidInput("The cursor is not valid.", field="cursor")
    entries: list[tuple[str, dict[str, str]]] = await store.redis.xrevrange(  # type: ignore[assignment]
        store.keys.moderation_log(), f"({cursor}" if cursor else "+", "-", count=limit + 1
    )
    records = [_record(entry_id, fields) for entry_id, fields in entries[:limit]]
    return records, records[-1].id if len(entries) > limit else None


def _record(entry_id: str, fields: dict[str, str]) -> BlockRecord:
    words = fields.get("words", "")
    return BlockRecord(
        id=str(entry_id),
        time=float(fields.get("time", 0) or 0),
        user_id=fields.get("user_id", ""),
        direction=fields.get("direction", ""),
        provider=fields.get("provider", ""),
        label=fields.get("label", ""),
        words=tuple(words.split("\n")) if words else (),
        excerpt=fields.get("excerpt", ""),
        channel=fields.get("channel", ""),
    )
