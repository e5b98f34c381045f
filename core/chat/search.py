"""Searching a user's conversations by title and by the text of their messages.

Titles are matched first (cheap: the meta hashes); then the messages of the other conversations are read in
pipelined batches, newest conversation first, until `limit` matches are found. A message match carries a snippet
around the first hit, so the list can show why a conversation matched. Case-insensitive, whitespace-collapsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.chat.conversations import Conversation, conversation_from_fields, text_fields
from core.chat.messages import load_message
from core.store.connection import Store

BATCH = 25  # conversations whose messages are read per round trip
SNIPPET_CHARS = 90
LEAD_CHARS = 16  # shown before the match


@dataclass(frozen=True)
class Found:
    conversation: Conversation
    message_id: str | None = None  # None: the title matched
    snippet: str = ""

    def public(self) -> dict[str, Any]:
        data = self.conversation.public()
        if self.message_id:
            data["match"] = {"message_id": self.message_id, "snippet": self.snippet}
        return data


def normalize(text: str) -> str:
    return " ".join(text.split()).casefold()


def snippet(text: str, needle: str) -> str:
    """Return about SNIPPET_CHARS of `text` (whitespace collapsed, case kept) starting a little before the first
    occurrence of `needle` (normalized), so the match shows even in a narrow list."""
    collapsed = " ".join(text.split())
    at = max(0, collapsed.lower().find(needle))
    start = max(0, at - LEAD_CHARS)
    end = min(len(collapsed), start + max(SNIPPET_CHARS, len(needle) + LEAD_CHARS))
    return ("…" if start else "") + collapsed[start:end] + ("…" if end < len(collapsed) else "")


async def search_conversations(store: Store, user_id: int | str, query: str, limit: int = 100) -> list[Found]:
    """Conversations whose title or any user/assistant message contains `query`, newest first."""
    needle = normalize(query)
    keys = store.keys
    ids = [str(cid) for cid in await store.redis.zrevrange(keys.conversations(user_id), 0, -1)]
    async with store.redis.pipeline(transaction=False) as pipe:
        for cid in ids:
            pipe.hgetall(keys.conversation(user_id, cid))
        metas = await pipe.execute()
    conversations = [conversation_from_fields(text_fields(data)) for data in metas if data]
    by_title = {conv.id for conv in conversations if needle in normalize(conv.title)}
    found: dict[str, Found] = {conv.id: Found(conv) for conv in conversations if conv.id in by_title}
    rest = [conv for conv in conversations if conv.id not in by_title]
    for start in range(0, len(rest), BATCH):
        if len(found) >= limit:
            break
        batch = rest[start : start + BATCH]
        async with store.redis.pipeline(transaction=False) as pipe:
            for conv in batch:
                pipe.lrange(keys.messages(user_id, conv.id), 0, -1)
            lists = await pipe.execute()
        for conv, raws in zip(batch, lists, strict=True):
            hit = _first_hit(raws, needle)
            if hit is not None:
                found[conv.id] = Found(conv, *hit)
    ordered = [found[conv.id] for conv in conversations if conv.id in found]
    return ordered[:limit]


def _first_hit(raws: list[Any], needle: str) -> tuple[str, str] | None:
    for raw in raws:
        message = load_message(raw)
        if message.role in ("user", "assistant") and needle in normalize(message.content):
            return message.id, snippet(message.content, needle)
    return None
