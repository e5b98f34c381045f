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

from core.chat.chat_settings import DEFAULT_SETTINGS, ChatSettings, settings_fields, settings_from_fields
from core.errors import InvalidInput, NotFound
from core.settings import Settings
from core.store.connection import Store

CHANNELS = ("web", "wechat", "telegram", "api")
AUTO_TITLE_CHARS = 40
TITLE_MAX_CHARS = 100
MODEL_MAX_CHARS = 100
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


# Where a title came from: the first words, a rename, or written by a model from the first exchange.
TITLE_SOURCES = ("auto", "user", "generated")


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    model: str
    channel: str
    created_at: float
    updated_at: float
    message_count: int
    settings: ChatSettings = DEFAULT_SETTINGS
    title_source: str = "auto"
    share_id: str = ""  # the live public share link, if any (core.chat.shares)

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
        settings=settings_from_fields(data),
        title_source=data.get("title_source", "auto"),
        share_id=data.get("share_id", ""),
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
    chat_settings: ChatSettings = DEFAULT_SETTINGS,
) -> Conversation:
    """Start a conversation; over CONVERSATION_MAX_COUNT the least recently updated ones are deleted."""
    _check_channel(channel)
    if len(model) > MODEL_MAX_CHARS:
        raise InvalidInput("The model name is too long.", field="model")
    cleaned = _clean_title(title) if title else ""
    conversation = Conversation(
        secrets.token_hex(8), cleaned, model, channel, now, now, 0, chat_settings, "user" if cleaned else "auto"
    )
    keys, max_count = store.keys, setting_limit(settings, "CONVERSATION_MAX_COUNT")
    index = keys.conversations(user_id)
    evicted_shares: list[str] = []

    async def write(pipe: Pipeline) -> None:
        excess = await pipe.zcard(index) + 1 - max_count
        oldest = [str(cid) for cid in await pipe.zrange(index, 0, excess - 1)] if excess > 0 else []
        evicted_shares[:] = [str(await pipe.hget(keys.conversation(user_id, cid), "share_id") or "") for cid in oldest]
        pipe.multi()
        pipe.hset(keys.conversation(user_id, conversation.id), mapping=_mapping(conversation))
        pipe.zadd(index, {conversation.id: now})
        for cid in oldest:
            pipe.zrem(index, cid)
            pipe.delete(*conversation_keys(store, user_id, cid))

    await store.redis.transaction(write, index)
    await _drop_share_links(store, evicted_shares)
    return conversation


def conversation_keys(store: Store, user_id: int | str, cid: str) -> list[str]:
    """Every key of one conversation, in the user's slot (its public share link is a global key: see below)."""
    keys = store.keys
    return [
        keys.conversation(user_id, cid), keys.messages(user_id, cid), keys.branches(user_id, cid),
        keys.images(user_id, cid), keys.share_snapshot(user_id, cid),
    ]  # fmt: skip


async def _drop_share_links(store: Store, share_ids: list[str]) -> None:
    # Global keys, outside the user's slot: removed after the conversation (a dangling link finds no snapshot).
    links = [store.keys.share(share_id) for share_id in share_ids if share_id]
    if links:
        await store.redis.delete(*links)


def _mapping(conversation: Conversation) -> dict[FieldT, EncodableT]:
    fields: dict[FieldT, EncodableT] = {
        name: str(value) for name, value in asdict(conversation).items() if name != "settings"
    }
    fields.update(settings_fields(conversation.settings))
    return fields


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
    """Set a conversation's title (1..100 characters, whitespace collapsed); a generated title never replaces it."""
    return await update_conversation(store, user_id, cid, title=title)


async def update_conversation(
    store: Store,
    user_id: int | str,
    cid: str,
    *,
    title: str | None = None,
    model: str | None = None,
    chat_settings: ChatSettings | None = None,
) -> Conversation:
    """Change a conversation's title, model or settings (what is None stays); all or nothing."""
    changes: dict[str, str] = {}
    if title is not None:
        changes.update(title=_clean_title(title), title_source="user")
    if model is not None:
        if not model or len(model) > MODEL_MAX_CHARS:
            raise InvalidInput("The model name must be 1 to 100 characters.", field="model")
        changes["model"] = model
    if chat_settings is not None:
        changes.update(settings_fields(chat_settings))
    return await write_meta(store, user_id, cid, changes)


async def write_meta(store: Store, user_id: int | str, cid: str, changes: Mapping[str, str]) -> Conversation:
    """Set meta fields of an existing conversation (NotFound if it is gone); return it as changed."""
    meta_key = store.keys.conversation(user_id, check_conversation_id(cid))

    async def write(pipe: Pipeline) -> Conversation:
        data = text_fields(await pipe.hgetall(meta_key))
        if not data:
            raise NotFound("Conversation not found.")
        pipe.multi()
        if changes:
            mapping: dict[FieldT, EncodableT] = {name: value for name, value in changes.items()}
            pipe.hset(meta_key, mapping=mapping)
        return conversation_from_fields({**data, **changes})

    result: Conversation = await store.redis.transaction(write, meta_key, value_from_callable=True)
    return result


async def delete_conversation(store: Store, user_id: int | str, cid: str) -> None:
    """Delete a conversation, its messages, versions, images and share link; a channel on it starts afresh."""
    keys = store.keys
    meta_key = keys.conversation(user_id, check_conversation_id(cid))
    share_id = str(await store.redis.hget(meta_key, "share_id") or "")
    async with store.redis.pipeline(transaction=True) as pipe:
        pipe.delete(*conversation_keys(store, user_id, cid))
        pipe.zrem(keys.conversations(user_id), cid)
        deleted, _ = await pipe.execute()
    await _drop_share_links(store, [share_id])
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
