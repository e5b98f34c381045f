"""Conversations kept on the server: per user, newest first, capped, with one current context per channel.

Keys (core.store.keys): ``{u:ID}:convs`` zset of ids scored by updated time, ``{u:ID}:conv:<cid>`` meta hash,
``{u:ID}:msgs:<cid>`` list of message JSON (oldest first, core.chat.messages), ``{u:ID}:ctx:<channel>`` the
channel's current id. Every multi-step change runs in one WATCH/MULTI transaction over these keys (they share the
user's hash tag).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio.client import Pipeline
from redis.typing import EncodableT, FieldT

from core.errors import InvalidInput, NotFound
from core.settings import Settings
from core.store.connection import Store

CHANNELS = ("web", "wechat", "telegram", "api")
AUTO_TITLE_CHARS = 40
TITLE_MAX_CHARS = 100
MODEL_MAX_CHARS = 100
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    model: str
    channel: str
    created_at: float
    updated_at: float
    message_count: int

    def public(self) -> dict[str, Any]:
        return asdict(self)


def auto_title(text: str) -> str:
    """Title a conversation from its first user message: first non-blank line, whitespace collapsed, <= 40 chars."""
    line = next((" ".join(part.split()) for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= AUTO_TITLE_CHARS else line[: AUTO_TITLE_CHARS - 1].rstrip() + "…"


def setting_limit(settings: Settings | None, name: str) -> int:
    value = getattr(settings, name) if settings else Settings.model_fields[name].default
    return int(value)


def check_conversation_id(cid: str) -> str:
    # A malformed id cannot name a stored conversation; answer like an unknown one.
    if not _ID_RE.match(cid):
        raise NotFound("Conversation not found.")
    return cid


def _check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}.", field="channel")
    return channel


def conversation_from_fields(data: Mapping[str, str]) -> Conversation:
    return Conversation(
        id=data["id"],
        title=data.get("title", ""),
        model=data.get("model", ""),
        channel=data.get("channel", "web"),
        created_at=float(data.get("created_at", 0)),
        updated_at=float(data.get("updated_at", 0)),
        message_count=int(data.get("message_count", 0)),
    )


def text_fields(data: Mapping[Any, Any]) -> dict[str, str]:
    # The store client decodes responses, so keys and values are already str; this only narrows the types.
    return {str(name): str(value) for name, value in data.items()}


async def create_conversation(
    store: Store,
    user_id: int | str,
    *,
    model: str,
    channel: str,
    title: str | None = None,
    now: float,
    settings: Settings | None = None,
) -> Conversation:
    """Start a conversation; over CONVERSATION_MAX_COUNT the least recently updated ones are deleted."""
    _check_channel(channel)
    if len(model) > MODEL_MAX_CHARS:
        raise InvalidInput("The model name is too long.", field="model")
    conversation = Conversation(secrets.token_hex(8), _clean_title(title) if title else "", model, channel, now, now, 0)
    keys, max_count = store.keys, setting_limit(settings, "CONVERSATION_MAX_COUNT")
    index = keys.conversations(user_id)

    async def write(pipe: Pipeline) -> None:
        excess = await pipe.zcard(index) + 1 - max_count
        oldest = [str(cid) for cid in await pipe.zrange(index, 0, excess - 1)] if excess > 0 else []
        pipe.multi()
        pipe.hset(keys.conversation(user_id, conversation.id), mapping=_mapping(conversation))
        pipe.zadd(index, {conversation.id: now})
        for cid in oldest:
            pipe.zrem(index, cid)
            pipe.delete(keys.conversation(user_id, cid), keys.messages(user_id, cid))

    await store.redis.transaction(write, index)
    return conversation


def _mapping(conversation: Conversation) -> dict[FieldT, EncodableT]:
    return {name: str(value) for name, value in asdict(conversation).items()}


def _clean_title(title: str) -> str:
    cleaned = " ".join(title.split())
    if not cleaned or len(cleaned) > TITLE_MAX_CHARS:
        raise InvalidInput(f"The title must be 1 to {TITLE_MAX_CHARS} characters.", field="title")
    return cleaned


async def list_conversations(
    store: Store, user_id: int | str, query: str | None = None, limit: int = 100
) -> list[Conversation]:
    """List conversations newest first; `query` keeps those whose title contains it (case-insensitive)."""
    needle = " ".join((query or "").split()).casefold()
    # Without a query only the first `limit` are read; a search reads the whole list (bounded by the cap).
    ids = await store.redis.zrevrange(store.keys.conversations(user_id), 0, -1 if needle else limit - 1)
    async with store.redis.pipeline(transaction=False) as pipe:
        for cid in ids:
            pipe.hgetall(store.keys.conversation(user_id, str(cid)))
        metas = await pipe.execute()
    found = [conversation_from_fields(text_fields(data)) for data in metas if data]
    if needle:
        found = [conv for conv in found if needle in conv.title.casefold()]
    return found[:limit]


async def get_conversation(store: Store, user_id: int | str, cid: str) -> Conversation:
    """Return one conversation's meta, or raise NotFound (also for another user's id)."""
    data = await store.redis.hgetall(store.keys.conversation(user_id, check_conversation_id(cid)))
    if not data:
        raise NotFound("Conversation not found.")
    return conversation_from_fields(text_fields(data))


async def rename_conversation(store: Store, user_id: int | str, cid: str, title: str) -> Conversation:
    """Set a conversation's title (1..100 characters, whitespace collapsed)."""
    cleaned = _clean_title(title)
    meta_key = store.keys.conversation(user_id, check_conversation_id(cid))

    async def write(pipe: Pipeline) -> Conversation:
        data = text_fields(await pipe.hgetall(meta_key))
        if not data:
            raise NotFound("Conversation not found.")
        pipe.multi()
        pipe.hset(meta_key, "title", cleaned)
        return conversation_from_fields({**data, "title": cleaned})

    result: Conversation = await store.redis.transaction(write, meta_key, value_from_callable=True)
    return result


async def delete_conversation(store: Store, user_id: int | str, cid: str) -> None:
    """Delete a conversation and its messages; a channel pointing at it starts afresh next time."""
    keys = store.keys
    meta_key = keys.conversation(user_id, check_conversation_id(cid))
    async with store.redis.pipeline(transaction=True) as pipe:
        pipe.delete(meta_key, keys.messages(user_id, cid))
        pipe.zrem(keys.conversations(user_id), cid)
        deleted, _ = await pipe.execute()
    if not deleted:
        raise NotFound("Conversation not found.")


async def current_conversation(store: Store, user_id: int | str, channel: str, thread: str = "") -> Conversation | None:
    """Return the channel's (or one of its threads') current conversation, or None (never set, cleared, deleted)."""
    cid = await store.redis.get(store.keys.channel_context(user_id, _check_channel(channel), thread))
    if not cid:
        return None
    try:
        return await get_conversation(store, user_id, str(cid))
    except NotFound:
        return None


async def set_current_conversation(store: Store, user_id: int | str, channel: str, cid: str, thread: str = "") -> None:
    """Make `cid` the channel's (or thread's) current conversation (it must exist)."""
    ctx_key = store.keys.channel_context(user_id, _check_channel(channel), thread)
    await get_conversation(store, user_id, cid)
    await store.redis.set(ctx_key, cid)


async def clear_current_conversation(store: Store, user_id: int | str, channel: str, thread: str = "") -> None:
    """Start afresh in a channel or thread ("new chat"): the next message opens a new conversation."""
    await store.redis.delete(store.keys.channel_context(user_id, _check_channel(channel), thread))
