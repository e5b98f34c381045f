"""The messages of a conversation: ``{u:ID}:msgs:<cid>``, a list of message JSON, oldest first.

Appending, editing the last user message and replacing the last answer each run in one WATCH/MULTI transaction with
the conversation's meta (core.chat.conversations), so its count, title and order always match its messages.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import orjson
from redis.asyncio.client import Pipeline
from redis.typing import EncodableT, FieldT

from core.chat.conversations import (
    Conversation,
    auto_title,
    check_conversation_id,
    conversation_from_fields,
    get_conversation,
    setting_limit,
    text_fields,
)
from core.errors import InvalidInput, MessageTooLong, NotFound
from core.settings import Settings
from core.store.connection import Store

ROLES = ("system", "user", "assistant")
_OPTIONAL = ("tokens", "truncated", "group", "images")
_ROLE_HEADINGS = {"system": "System", "user": "User", "assistant": "Assistant"}


@dataclass(frozen=True)
class Message:
    id: str
    role: str
    content: str
    created_at: float
    model: str | None = None
    tokens: int | None = None  # an answer's completion tokens
    truncated: bool = False  # an answer cut at ANSWER_MAX_CHARS
    group: str | None = None  # a user message that was edited: the id of its versions (core.chat.branches)
    images: tuple[str, ...] = ()  # ids of the images sent with a user message (core.chat.images)

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data["images"] = list(self.images)
        return data


def new_message(role: str, content: str, now: float, model: str | None = None) -> Message:
    """Build a message with a fresh id (callers append it with `append_message`)."""
    return Message(id=secrets.token_hex(8), role=role, content=content, created_at=now, model=model)


def last_user_index(messages: Sequence[Message] | Sequence[Mapping[str, Any]], field: str = "messages") -> int:
    """Return the index of the newest user message (stored messages or OpenAI dicts); InvalidInput if none."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        role = message.get("role") if isinstance(message, Mapping) else message.role
        if role == "user":
            return index
    raise InvalidInput("The conversation has no user message.", field=field)


def _last_user_to_resend(messages: list[Message]) -> int:
    return last_user_index(messages, field="conversation_id")


def check_message(message: Message, settings: Settings | None) -> None:
    if message.role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}.", field="role")
    # What users type has one limit; an answer is kept whole up to a much larger one (cut there, and marked).
    max_chars = setting_limit(settings, "ANSWER_MAX_CHARS" if message.role == "assistant" else "MESSAGE_MAX_CHARS")
    check_length(message.content, max_chars)
    if message.role == "user" and not message.content.strip() and not message.images:
        raise InvalidInput("The message is empty.", field="content")


def check_length(text: str, max_chars: int, field: str = "content") -> None:
    """Refuse a text over `max_chars` with MessageTooLong (data: field, max, length)."""
    if len(text) > max_chars:
        raise MessageTooLong(
            f"The message is longer than {max_chars} characters.", field=field, max=max_chars, length=len(text)
        )


def load_message(raw: str | bytes) -> Message:
    """Read one stored message (fields added later default when absent)."""
    data = orjson.loads(raw)
    return Message(
        data["id"], data["role"], data["content"], float(data["created_at"]), data.get("model"),
        data.get("tokens"), bool(data.get("truncated")), data.get("group"), tuple(data.get("images") or ()),
    )  # fmt: skip


def dump_message(message: Message) -> str:
    """The stored form of a message: optional fields only when set."""
    data = message.public()
    for name in _OPTIONAL:
        if data[name] is None or data[name] is False or data[name] == []:
            del data[name]
    return orjson.dumps(data).decode()


_message, _dump = load_message, dump_message


async def get_messages(store: Store, user_id: int | str, cid: str) -> list[Message]:
    """Return a conversation's messages, oldest first."""
    await get_conversation(store, user_id, cid)
    return [_message(raw) for raw in await store.redis.lrange(store.keys.messages(user_id, cid), 0, -1)]


async def append_message(
    store: Store,
    user_id: int | str,
    cid: str,
    message: Message,
    *,
    settings: Settings | None = None,
    once: bool = False,
) -> Conversation:
    """Append a message (oldest trimmed past CONVERSATION_MAX_MESSAGES); the first user message sets the title.
    `once`: nothing is written when the last message already has this message's id (a repeated attempt)."""
    check_message(message, settings)
    keys, max_messages = store.keys, setting_limit(settings, "CONVERSATION_MAX_MESSAGES")
    meta_key, list_key = keys.conversation(user_id, check_conversation_id(cid)), keys.messages(user_id, cid)

    async def write(pipe: Pipeline) -> Conversation:
        data = text_fields(await pipe.hgetall(meta_key))
        if not data:
            raise NotFound("Conversation not found.")
        if once and (last := await pipe.lindex(list_key, -1)) and load_message(last).id == message.id:
            return conversation_from_fields(text_fields(data))
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
        return conversation_from_fields(text_fields({**data, **changes}))

    result: Conversation = await store.redis.transaction(write, meta_key, list_key, value_from_callable=True)
    return result


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
    meta_key, list_key = keys.conversation(user_id, check_conversation_id(cid)), keys.messages(user_id, cid)

    async def write(pipe: Pipeline) -> list[Message]:
        if not await pipe.hexists(meta_key, "id"):  # (EXISTS is split per node by a cluster pipeline)
            raise NotFound("Conversation not found.")
        messages = [_message(raw) for raw in await pipe.lrange(list_key, 0, -1)]
        last = cut(messages)
        kept = messages[: last + 1]
        pipe.multi()
        pipe.ltrim(list_key, 0, last)
        if edit is not None:
            kept[last] = replace(kept[last], content=edit, created_at=now)
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


async def edit_last_user_message(
    store: Store, user_id: int | str, cid: str, content: str, *, now: float, settings: Settings | None = None
) -> list[Message]:
    """Prepare an edit-and-resend: replace the last user message's content, drop what follows; return the rest."""
    check_message(Message("edit", "user", content, now), settings)
    return await _rewrite_tail(store, user_id, cid, _last_user_to_resend, now=now, edit=content, max_messages=0)


async def replace_last_assistant(
    store: Store, user_id: int | str, cid: str, message: Message, *, settings: Settings | None = None
) -> list[Message]:
    """Swap the reply(ies) after the last user message for `message` in one step (regenerate, kept until done)."""
    check_message(message, settings)
    max_messages = setting_limit(settings, "CONVERSATION_MAX_MESSAGES")
    return await _rewrite_tail(
        store, user_id, cid, _last_user_to_resend, now=message.created_at, append=message, max_messages=max_messages
    )


def export_markdown(conversation: Conversation, messages: list[Message]) -> str:
    """Render a conversation as Markdown: the title, then each message under its speaker's heading."""
    parts = [f"# {conversation.title or 'Untitled conversation'}", ""]
    for message in messages:
        heading = f"**{_ROLE_HEADINGS.get(message.role, message.role.title())}**"
        if message.role == "assistant" and message.model:
            heading += f" ({message.model})"
        parts += [heading, "", message.content.rstrip(), ""]
        if message.images:
            parts += [f"_({len(message.images)} image{'s' if len(message.images) > 1 else ''} attached)_", ""]
        if message.truncated:
            parts += ["_[answer truncated]_", ""]
    return "\n".join(parts)
