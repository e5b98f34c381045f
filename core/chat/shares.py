"""Read-only share links: a snapshot of a conversation anyone with the link can read, until its owner revokes it.

Sharing takes a snapshot of the title and the user and assistant messages as they are now (no system prompt, no
account data); later messages are not shown until the owner shares again (the same link, a fresh snapshot).
Keys: ``share:<id>`` -> ``"<uid>:<cid>"`` (the public link, a global key) and ``{u:ID}:share:<cid>`` (the snapshot,
in the user's slot); the conversation's meta keeps ``share_id``. Revoking deletes the link first, so it is dead at
once; deleting the conversation revokes it too (core.chat.conversations).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

import orjson

from core.chat.conversations import get_conversation, write_meta
from core.chat.messages import get_messages
from core.errors import InvalidInput, NotFound
from core.store.connection import Store

_SHARE_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class SharedMessage:
    role: str
    content: str
    model: str | None
    created_at: float
    images: tuple[str, ...] = ()

    def public(self) -> dict[str, Any]:
        return {"role": self.role, "content": self.content, "model": self.model, "created_at": self.created_at,
                "images": list(self.images)}  # fmt: skip


@dataclass(frozen=True)
class SharedConversation:
    id: str
    title: str
    shared_at: float
    messages: list[SharedMessage]
    owner: int  # never shown: it finds the snapshot's images
    conversation_id: str


async def share_conversation(store: Store, user_id: int, cid: str, now: float) -> SharedConversation:
    """Share (or re-share, keeping the link) a conversation as it is now; InvalidInput when it has no messages."""
    conversation = await get_conversation(store, user_id, cid)
    messages = [
        SharedMessage(m.role, m.content, m.model, m.created_at, m.images)
        for m in await get_messages(store, user_id, cid)
        if m.role in ("user", "assistant")
    ]
    if not messages:
        raise InvalidInput("There is nothing to share in this conversation yet.", field="conversation_id")
    share_id = conversation.share_id or secrets.token_urlsafe(16)
    snapshot = {"id": share_id, "title": conversation.title, "shared_at": now,
                "messages": [message.public() for message in messages]}  # fmt: skip
    await write_meta(store, user_id, cid, {"share_id": share_id})  # first: NotFound if it was deleted meanwhile
    await store.redis.set(store.keys.share_snapshot(user_id, cid), orjson.dumps(snapshot))
    await store.redis.set(store.keys.share(share_id), f"{user_id}:{cid}")
    return SharedConversation(share_id, conversation.title, now, messages, user_id, cid)


async def revoke_share(store: Store, user_id: int, cid: str) -> bool:
    """Stop sharing a conversation; False when it was not shared."""
    conversation = await get_conversation(store, user_id, cid)
    if not conversation.share_id:
        return False
    await store.redis.delete(store.keys.share(conversation.share_id))  # first: the link is dead from here on
    await store.redis.delete(store.keys.share_snapshot(user_id, cid))
    await write_meta(store, user_id, cid, {"share_id": ""})
    return True


async def get_shared(store: Store, share_id: str) -> SharedConversation:
    """Return what a share link shows; NotFound for an unknown, revoked or deleted one."""
    if not _SHARE_ID.match(share_id):
        raise NotFound("This link does not exist or was revoked.")
    target = await store.redis.get(store.keys.share(share_id))
    owner, _, cid = str(target or "").partition(":")
    raw = await store.redis.get(store.keys.share_snapshot(owner, cid)) if target else None
    if not raw:
        raise NotFound("This link does not exist or was revoked.")
    data = orjson.loads(raw)
    if data.get("id") != share_id:  # a link left over from an earlier share of a deleted conversation
        raise NotFound("This link does not exist or was revoked.")
    messages = [
        SharedMessage(m["role"], m["content"], m.get("model"), float(m["created_at"]), tuple(m.get("images") or ()))
        for m in data["messages"]
    ]
    return SharedConversation(share_id, data["title"], float(data["shared_at"]), messages, int(owner), cid)
