"""Conversations kept on the server: per user, newest first, capped, with one current context per channel.

Keys (core/keys.py): ``{u:ID}:convs`` zset of ids scored by updated time, ``{u:ID}:conv:<cid>`` meta hash,
``{u:ID}:msgs:<cid>`` list of message JSON (oldest first), ``{u:ID}:ctx:<channel>`` the channel's current id.
Every multi-step change runs in one WATCH/MULTI transaction over these keys (they share the user's hash tag).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from redis.asyncio.client import Pipeline
from redis.typing import EncodableT, FieldT

from core.errors import InvalidInput, NotFound
from core.settings import Settings
from core.store.connection import Store

CHANNELS = ("web", "wechat", "telegram", "api")
ROLES = ("system", "user", "assistant")
AUTO_TITLE_CHARS = 40
TITLE_MAX_CHARS = 100
MODEL_MAX_CHARS = 100
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ROLE_HEADINGS = {"system": "System", "user": "User", "assistant": "Assistant"}


@dataclass(frozen=True)
class Message:
    id: str
    role: str
    content: str
    created_at: float
    model: str | None = None

    def public(self) -> dict[str, Any]:
        return asdict(self)


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


def new_message(role: str, content: str, now: float, model: str | None = None) -> Message:
    """Build a message with a fresh id (callers append it with `append_message`)."""
    return Message(id=secrets.token_hex(8), role=role, content=content, created_at=now, model=model)


def auto_title(text: str) -> str:
    """Title a conversation from its first user message: first non-blank line, whitespace collapsed, <= 40 chars."""
    line = next((" ".join(part.split()) for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= AUTO_TITLE_CHARS else line[: AUTO_TITLE_CHARS - 1].rstrip() + "…"


def _limit(settings: Settings | None, name: str) -> int:
    value = getattr(settings, name) if settings else Settings.model_fields[name].default
    return int(value)


def _check_id(cid: str) -> str:
    # A malformed id cannot name a stored conversation; answer like an unknown one.
    if not _ID_RE.match(cid):
        raise NotFound("Conversation not found.")
    return cid


def _check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}.", field="channel")
    return channel


def _check_message(message: Message, settings: Settings | None) -> None:
    if message.role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}.", field="role")
    max_chars = _limit(settings, "MESSAGE_MAX_CHARS")
    if len(message.content) > max_chars:
        raise InvalidInput(f"The message is longer than {max_chars} characters.", field="content", max=max_chars)
    if message.role == "user" and not message.content.strip():
        raise InvalidInput("The message is empty.", field="content")


def _meta(data: Mapping[str, str]) -> Conversation:
    return Conversation(
        id=data["id"],
        title=data.get("title", ""),
        model=data.get("model", ""),
        channel=data.get("channel", "web"),
        created_at=float(data.get("created_at", 0)),
        updated_at=float(data.get("updated_at", 0)),
        message_count=int(data.get("message_count", 0)),
    )


def _text(data: Mapping[Any, Any]) -> dict[str, str]:
    # The store client decodes responses, so keys and values are already str; this only narrows the types.
    return {str(name): str(value) for name, value in data.items()}


def _message(raw: str | bytes) -> Message:
    data = orjson.loads(raw)
    return Message(data["id"], data["role"], data["content"], float(data["created_at"]), data.get("model"))


def _dump(message: Message) -> str:
    return orjson.dumps(message.public()).decode()


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
    keys, max_count = store.keys, _limit(settings, "CONVERSATION_MAX_COUNT")
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
    found = [_meta(_text(data)) for data in metas if data]
    if needle:
        found = [conv for conv in found if needle in conv.title.casefold()]
    return found[:limit]


async def get_conversation(store: Store, user_id: int | str, cid: str) -> Conversation:
    """Return one conversation's meta, or raise NotFound (also for another user's id)."""
    data = await store.redis.hgetall(store.keys.conversation(user_id, _check_id(cid)))
    if not data:
        raise NotFound("Conversation not found.")
    return _meta(_text(data))


async def get_messages(store: Store, user_id: int | str, cid: str) -> list[Message]:
    """Return a conversation's messages, oldest first."""
    await get_conversation(store, user_id, cid)
    return [_message(raw) for raw in await store.redis.lrange(store.keys.messages(user_id, cid), 0, -1)]


async def rename_conversation(store: Store, user_id: int | str, cid: str, title: str) -> Conversation:
    """Set a conversation's title (1..100 characters, whitespace collapsed)."""
    cleaned = _clean_title(title)
    meta_key = store.keys.conversation(user_id, _check_id(cid))

    async def write(pipe: Pipeline) -> Conversation:
        data = _text(await pipe.hgetall(meta_key))
        if not data:
            raise NotFound("Conversation not found.")
        pipe.multi()
        pipe.hset(meta_key, "title", cleaned)
        return _meta({**data, "title": cleaned})

    result: Conversation = await store.redis.transaction(write, meta_key, value_from_callable=True)
    return result


async def delete_conversation(store: Store, user_id: int | str, cid: str) -> None:
    """Delete a conversation and its messages; a channel pointing at it starts afresh next time."""
    keys = store.keys
    meta_key = keys.conversation(user_id, _check_id(cid))
    async with store.redis.pipeline(transaction=True) as pipe:
        pipe.delete(meta_key, keys.messages(user_id, cid))
        pipe.zrem(keys.conversations(user_id), cid)
        deleted, _ = await pipe.execute()
    if not deleted:
        raise NotFound("Conversation not found.")


async def append_message(
    store: Store, user_id: int | str, cid: str, message: Message, *, settings: Settings | None = None
) -> Conversation:
    """Append a message (oldest trimmed past CONVERSATION_MAX_MESSAGES); the first user message sets the title."""
    _check_message(message, settings)
    keys, max_messages = store.keys, _limit(settings, "CONVERSATION_MAX_MESSAGES")
    meta_key, list_key = keys.conversation(user_id, _check_id(cid)), keys.messages(user_id, cid)

    async def write(pipe: Pipeline) -> Conversation:
        data = _text(await pipe.hgetall(meta_key))
        if not data:
            raise NotFound("Conversation not found.")
        count = min(await pipe.llen(list_key) + 1, max_messages)
        changes: dict[FieldT, EncodableT] = {"updated_at": str(message.created_at), "message_count": str(count)}
        if message.model:
            changes["model"] = message.model
        if not data.get("title") and message.role == "user":
            changes["title"] = auto_title(message.content)
        pipe.multi()
        pipe.rpush(list_key, _dump(message))
        pipe.ltrim(list_key, -max_messages, -1)
        pipe.hset(meta_key, mapping=changes)
        pipe.zadd(keys.conversations(user_id), {cid: message.created_at})
        return _meta(_text({**data, **changes}))

    result: Conversation = await store.redis.transaction(write, meta_key, list_key, value_from_callable=True)
    return result


def _last_user(messages: list[Message]) -> int:
    last = max((i for i, msg in enumerate(messages) if msg.role == "user"), default=-1)
    if last < 0:
        raise InvalidInput("The conversation has no user message to resend.", field="conversation_id")
    return last


async def _rewrite_tail(
    store: Store,
    user_id: int | str,
    cid: str,
    cut: Callable[[list[Message]], int],
    *,
    now: float,
    edit: str | None = None,
    append: Message | None = None,
    max_messages: int,
) -> list[Message]:
    """Keep messages up to index `cut(messages)` (editing that one's content, then appending), atomically."""
    keys = store.keys
    meta_key, list_key = keys.conversation(user_id, _check_id(cid)), keys.messages(user_id, cid)

    async def write(pipe: Pipeline) -> list[Message]:
        if not await pipe.exists(meta_key):
            raise NotFound("Conversation not found.")
        messages = [_message(raw) for raw in await pipe.lrange(list_key, 0, -1)]
        last = cut(messages)
        kept = messages[: last + 1]
        pipe.multi()
        pipe.ltrim(list_key, 0, last)
        if edit is not None:
            kept[last] = Message(kept[last].id, kept[last].role, edit, now, kept[last].model)
            pipe.lset(list_key, last, _dump(kept[last]))
        if append is not None:
            kept = [*kept, append][-max_messages:]
            pipe.rpush(list_key, _dump(append))
            pipe.ltrim(list_key, -max_messages, -1)
        changes: dict[FieldT, EncodableT] = {"updated_at": str(now), "message_count": str(len(kept))}
        if append is not None and append.model:
            changes["model"] = append.model
        pipe.hset(meta_key, mapping=changes)
        pipe.zadd(keys.conversations(user_id), {cid: now})
        return kept

    result: list[Message] = await store.redis.transaction(write, meta_key, list_key, value_from_callable=True)
    return result


async def drop_last_reply(store: Store, user_id: int | str, cid: str, *, now: float) -> list[Message]:
    """Prepare a regenerate: drop the assistant message(s) after the last user message; return what is left."""
    return await _rewrite_tail(store, user_id, cid, _last_user, now=now, max_messages=0)


async def edit_last_user_message(
    store: Store, user_id: int | str, cid: str, content: str, *, now: float, settings: Settings | None = None
) -> list[Message]:
    """Prepare an edit-and-resend: replace the last user message's content, drop what follows; return the rest."""
    _check_message(Message("edit", "user", content, now), settings)
    return await _rewrite_tail(store, user_id, cid, _last_user, now=now, edit=content, max_messages=0)


async def replace_last_assistant(
    store: Store, user_id: int | str, cid: str, message: Message, *, settings: Settings | None = None
) -> list[Message]:
    """Swap the reply(ies) after the last user message for `message` in one step (regenerate, kept until done)."""
    _check_message(message, settings)
    max_messages = _limit(settings, "CONVERSATION_MAX_MESSAGES")
    return await _rewrite_tail(
        store, user_id, cid, _last_user, now=message.created_at, append=message, max_messages=max_messages
    )


async def truncate_after(store: Store, user_id: int | str, cid: str, message_id: str, *, now: float) -> list[Message]:
    """Drop every message after `message_id` (NotFound when it is not in the conversation); return the rest."""

    def position(messages: list[Message]) -> int:
        found = next((i for i, msg in enumerate(messages) if msg.id == message_id), None)
        if found is None:
            raise NotFound("Message not found.")
        return found

    return await _rewrite_tail(store, user_id, cid, position, now=now, max_messages=0)


async def current_conversation(store: Store, user_id: int | str, channel: str) -> Conversation | None:
    """Return the channel's current conversation, or None (never set, cleared, or since deleted)."""
    cid = await store.redis.get(store.keys.channel_context(user_id, _check_channel(channel)))
    if not cid:
        return None
    try:
        return await get_conversation(store, user_id, str(cid))
    except NotFound:
        return None


async def set_current_conversation(store: Store, user_id: int | str, channel: str, cid: str) -> None:
    """Make `cid` the channel's current conversation (it must exist)."""
    ctx_key = store.keys.channel_context(user_id, _check_channel(channel))
    await get_conversation(store, user_id, cid)
    await store.redis.set(ctx_key, cid)


async def clear_current_conversation(store: Store, user_id: int | str, channel: str) -> None:
    """Start afresh in a channel ("new chat"): the next message opens a new conversation."""
    await store.redis.delete(store.keys.channel_context(user_id, _check_channel(channel)))


def export_markdown(conversation: Conversation, messages: list[Message]) -> str:
    """Render a conversation as Markdown: the title, then each message under its speaker's heading."""
    parts = [f"# {conversation.title or 'Untitled conversation'}", ""]
    for message in messages:
        heading = f"**{_ROLE_HEADINGS.get(message.role, message.role.title())}**"
        if message.role == "assistant" and message.model:
            heading += f" ({message.model})"
        parts += [heading, "", message.content.rstrip(), ""]
    return "\n".join(parts)
