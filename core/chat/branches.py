"""Editing any earlier user message, keeping what it replaced as a version the user can flip back to.

The conversation's message list (core.chat.messages) always holds the versions on screen. When the user message at
position i is edited, the list's tail from i (that message and everything after it) is stored as a version of a
*group*, the new message joins the group, and the list continues from it. Flipping to another version swaps the
tails back. Every version of a group carries the same `group` id, so the group is found by that id wherever
trimming has moved it, and versions nested in a stored tail come back with it.

Key ``{u:ID}:alts:<cid>`` (a hash, in the user's slot): ``<group>`` -> ``"<active>/<count>"`` and
``<group>:<n>`` -> the JSON list of version n's messages (absent for the active version: it is in the list).
Every change runs in one WATCH/MULTI transaction over the meta, the list and this hash.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace

import orjson
from redis.asyncio.client import Pipeline
from redis.typing import EncodableT, FieldT

from core.chat.conversations import check_conversation_id
from core.chat.messages import Message, check_message, dump_message, load_message
from core.errors import InvalidInput, NotFound
from core.settings import Settings
from core.store.connection import Store

MAX_VERSIONS = 20  # per edited message; the oldest inactive version goes first


@dataclass(frozen=True)
class Versions:
    """Where a group stands: the version on screen (0-based) and how many there are."""

    index: int
    count: int

    def public(self) -> dict[str, int]:
        return {"index": self.index, "count": self.count}


def _parse(raw: object) -> Versions:
    active, _, count = str(raw).partition("/")
    return Versions(int(active), int(count))


def _position(messages: Sequence[Message], *, message_id: str = "", group: str = "") -> int:
    for index, message in enumerate(messages):
        if (message_id and message.id == message_id) or (group and message.group == group):
            return index
    raise NotFound("That message is not in this conversation.")


async def versions_of(store: Store, user_id: int | str, cid: str, messages: Sequence[Message]) -> dict[str, Versions]:
    """Return the versions of every edited message in `messages` (group id -> Versions)."""
    groups = [message.group for message in messages if message.group]
    if not groups:
        return {}
    raws = await store.redis.hmget(store.keys.branches(user_id, cid), groups)
    return {group: _parse(raw) for group, raw in zip(groups, raws, strict=True) if raw}


async def edit_message(
    store: Store,
    user_id: int | str,
    cid: str,
    message_id: str,
    new: Message,
    *,
    settings: Settings | None = None,
) -> list[Message]:
    """Replace the user message `message_id` (and all after it) by `new`, keeping the old tail as a version.

    Returns the messages now in the list (ending with `new`). InvalidInput for a message that is not the user's.
    """
    check_message(new, settings)
    keys = store.keys
    meta_key, list_key = keys.conversation(user_id, check_conversation_id(cid)), keys.messages(user_id, cid)
    alts_key = keys.branches(user_id, cid)

    async def write(pipe: Pipeline) -> list[Message]:
        if not await pipe.exists(meta_key):
            raise NotFound("Conversation not found.")
        messages = [load_message(raw) for raw in await pipe.lrange(list_key, 0, -1)]
        at = _position(messages, message_id=message_id)
        if messages[at].role != "user":
            raise InvalidInput("Only your own messages can be edited.", field="message_id")
        group = messages[at].group or secrets.token_hex(6)
        state = await pipe.hget(alts_key, group)
        versions = _parse(state) if state else Versions(0, 1)
        fields = [f"{group}:{n}" for n in range(versions.count)]
        tails: list[str | None] = [None]  # a first edit: the tail on screen becomes version 0
        if state:
            tails = [None if tail is None else str(tail) for tail in await pipe.hmget(alts_key, fields)]
        tails[versions.index] = _dump_tail([replace(messages[at], group=group), *messages[at + 1 :]])
        tails = [*tails, None][-MAX_VERSIONS:]  # the new version is on screen; the oldest goes past the cap
        kept = [*messages[:at], replace(new, group=group)]
        pipe.multi()
        _write_list(pipe, list_key, kept)
        if state:
            pipe.hdel(alts_key, *fields)
        stored: dict[FieldT, EncodableT] = {f"{group}:{n}": tail for n, tail in enumerate(tails) if tail is not None}
        stored[group] = f"{len(tails) - 1}/{len(tails)}"
        pipe.hset(alts_key, mapping=stored)
        pipe.hset(meta_key, mapping={"updated_at": str(new.created_at), "message_count": str(len(kept))})
        pipe.zadd(keys.conversations(user_id), {cid: new.created_at})
        return kept

    result: list[Message] = await store.redis.transaction(write, meta_key, list_key, alts_key, value_from_callable=True)
    return result


async def switch_version(
    store: Store, user_id: int | str, cid: str, group: str, index: int, *, now: float
) -> list[Message]:
    """Show version `index` of an edited message (and what followed it then); return the whole list."""
    keys = store.keys
    meta_key, list_key = keys.conversation(user_id, check_conversation_id(cid)), keys.messages(user_id, cid)
    alts_key = keys.branches(user_id, cid)

    async def write(pipe: Pipeline) -> list[Message]:
        if not await pipe.exists(meta_key):
            raise NotFound("Conversation not found.")
        state = await pipe.hget(alts_key, group)
        if not state:
            raise NotFound("That message has no other versions.")
        versions = _parse(state)
        if not 0 <= index < versions.count:
            raise InvalidInput(f"index must be from 0 to {versions.count - 1}.", field="index")
        messages = [load_message(raw) for raw in await pipe.lrange(list_key, 0, -1)]
        if index == versions.index:
            pipe.multi()
            return messages
        at = _position(messages, group=group)
        incoming = [load_message(raw) for raw in orjson.loads(await pipe.hget(alts_key, f"{group}:{index}") or "[]")]
        kept = [*messages[:at], *incoming]
        pipe.multi()
        _write_list(pipe, list_key, kept)
        pipe.hset(
            alts_key,
            mapping={f"{group}:{versions.index}": _dump_tail(messages[at:]), group: f"{index}/{versions.count}"},
        )
        pipe.hdel(alts_key, f"{group}:{index}")
        pipe.hset(meta_key, mapping={"updated_at": str(now), "message_count": str(len(kept))})
        return kept

    result: list[Message] = await store.redis.transaction(write, meta_key, list_key, alts_key, value_from_callable=True)
    return result


def _dump_tail(messages: Sequence[Message]) -> str:
    return orjson.dumps([dump_message(message) for message in messages]).decode()


def _write_list(pipe: Pipeline, list_key: str, messages: Sequence[Message]) -> None:
    pipe.delete(list_key)
    if messages:
        pipe.rpush(list_key, *[dump_message(message) for message in messages])
