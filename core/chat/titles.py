"""Titles written by a model from a conversation's first exchange, free of the user's quota.

A conversation starts titled with its first words ("auto"). Once it has its first answer, `generate_title` asks
TITLE_MODEL (empty: the conversation's own model) for a short title through the relay (so with failover), checks
the title with the output moderation, and sets it unless the user renamed the conversation meanwhile. Each
conversation gets one attempt (claimed in its meta with HSETNX), so calling it again costs nothing. Nothing is
taken from the user's quota or usage: the operator pays for these few tokens.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from redis.asyncio.client import Pipeline

from core.chat.conversations import Conversation, conversation_from_fields, get_conversation, text_fields
from core.chat.messages import Message, get_messages
from core.errors import CoreError, NotFound
from core.relay.catalogue import cached_model

if TYPE_CHECKING:
    from core.services import Services

log = logging.getLogger(__name__)

TITLE_MAX_CHARS = 40
EXCERPT_CHARS = 1500
TITLE_MAX_TOKENS = 40
INSTRUCTIONS = (
    "Write a title of at most six words for the conversation below, in the language the user wrote in. "
    "Reply with the title only: no quotes, no trailing punctuation."
)
_LEADING = re.compile(r"^\s*(?:title|标题)\s*[:：]\s*", re.IGNORECASE)
_QUOTES = "\"'“”‘’「」『』《》`*#"
_END = "。.!！?？,，;；:："


def clean_title(text: str) -> str:
    """Turn a model's reply into a title: its first line, without a "Title:" label, quotes or end punctuation."""
    line = next((part for part in text.splitlines() if part.strip()), "")
    line = _LEADING.sub("", line)
    while True:  # quotes and end punctuation come in any order: "Title." / “Title”.
        trimmed = line.strip().strip(_QUOTES).rstrip(_END)
        if trimmed == line:
            break
        line = trimmed
    line = " ".join(line.split())
    return line if len(line) <= TITLE_MAX_CHARS else line[: TITLE_MAX_CHARS - 1].rstrip() + "…"


def first_exchange(messages: list[Message]) -> tuple[str, str] | None:
    """The first user message and the answer after it, or None before there is an answer."""
    question = next((i for i, m in enumerate(messages) if m.role == "user"), None)
    if question is None:
        return None
    answer = next((m for m in messages[question + 1 :] if m.role == "assistant" and m.content.strip()), None)
    return (messages[question].content, answer.content) if answer else None


async def generate_title(services: Services, user_id: int, cid: str) -> Conversation:
    """Give the conversation a written title once (see the module doc); return it as it is afterwards."""
    store, settings = services.store, services.settings
    conversation = await get_conversation(store, user_id, cid)
    if not settings.AUTO_TITLES or conversation.title_source != "auto":
        return conversation
    exchange = first_exchange(await get_messages(store, user_id, cid))
    model = await cached_model(store, settings.TITLE_MODEL or conversation.model)
    if exchange is None or model is None or not model.enabled or not model.chats:
        return conversation
    meta_key = store.keys.conversation(user_id, cid)
    if not await store.redis.hsetnx(meta_key, "title_claim", "1"):
        return conversation  # one attempt per conversation
    question, answer = exchange
    body = {
        "messages": [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": f"User: {question[:EXCERPT_CHARS]}\n\nAssistant: {answer[:EXCERPT_CHARS]}"},
        ],
        "max_tokens": TITLE_MAX_TOKENS,
        "temperature": 0.3,
    }
    try:
        completion = await services.relay.complete(model, body)
        guard = services.moderation.output_guard(user_id=user_id, channel="web")  # the web app asks for titles
        await guard.feed(completion.text)
        await guard.finish()
    except CoreError as error:  # no upstream, refused, or a blocked title: the first words stay
        log.info("no title for conversation %s: %s", cid, error.code)
        return conversation
    title = clean_title(completion.text)
    return await _set_generated(services, user_id, cid, title) if title else conversation


async def _set_generated(services: Services, user_id: int, cid: str, title: str) -> Conversation:
    meta_key = services.store.keys.conversation(user_id, cid)

    async def write(pipe: Pipeline) -> Conversation:
        data = text_fields(await pipe.hgetall(meta_key))
        if not data:
            raise NotFound("Conversation not found.")  # deleted while its title was being written
        pipe.multi()
        if data.get("title_source", "auto") == "auto":  # a rename meanwhile wins
            data.update(title=title, title_source="generated")
            pipe.hset(meta_key, mapping={"title": title, "title_source": "generated"})
        return conversation_from_fields(data)

    result: Conversation = await services.store.redis.transaction(write, meta_key, value_from_callable=True)
    return result
