"""Conversation turns (the web chat and the bots): what a turn sends upstream, and saving both sides of it.

A turn is read in `prepare_turn` (nothing written), saved in `open_turn` once an upstream has answered (so a
refused or failed request leaves the conversation as it was), and its answer saved in `close_turn` when the stream
ends — with whatever was delivered, also when the caller stopped it. Regenerate keeps the old answer until the
new one is there; edit replaces the last user message and drops what followed it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from core.chat.conversations import (
    CHANNELS,
    Conversation,
    create_conversation,
    current_conversation,
    get_conversation,
    set_current_conversation,
)
from core.chat.events import ChatStart
from core.chat.messages import (
    Message,
    append_message,
    edit_last_user_message,
    get_messages,
    last_user_index,
    new_message,
    replace_last_assistant,
)
from core.errors import CoreError, InvalidInput
from core.settings import Settings
from core.store.connection import Store

log = logging.getLogger(__name__)

Action = Literal["send", "regenerate", "edit"]
ACTIONS: tuple[Action, ...] = ("send", "regenerate", "edit")
THREAD_MAX_CHARS = 64


@dataclass(frozen=True)
class ChatTurn:
    """One user action in a conversation: send new content, regenerate the last answer, or edit and resend."""

    content: str | None = None
    action: Action = "send"
    conversation_id: str | None = None  # None: a new conversation (or the channel's current one, see use_current)
    system: str | None = None  # a system prompt (preset) for this call; saved when it starts a conversation
    channel: str = "web"
    use_current: bool = False  # bots: continue the channel's current conversation when no id is given
    thread: str = ""  # a place inside the channel with its own current conversation (a Telegram group)


@dataclass(frozen=True)
class PreparedTurn:
    turn: ChatTurn
    conversation: Conversation | None  # None: created by open_turn
    history: list[Message]
    messages: list[dict[str, Any]]  # the context to send upstream (before fitting)
    new_text: str  # the user's new words, for input moderation ("" on regenerate: nothing new)


def check_turn(turn: ChatTurn, settings: Settings) -> None:
    """Refuse a malformed turn before anything is read, checked or consumed."""
    if turn.action not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}.", field="action")
    if turn.channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}.", field="channel")
    limit = settings.MESSAGE_MAX_CHARS
    if turn.action != "regenerate" and not (turn.content or "").strip():
        raise InvalidInput("The message is empty.", field="content")
    if len(turn.content or "") > limit or len(turn.system or "") > limit:
        raise InvalidInput(f"The message is longer than {limit} characters.", field="content", max=limit)
    if len(turn.thread) > THREAD_MAX_CHARS or not all(c.isascii() and (c.isalnum() or c in "-_") for c in turn.thread):
        raise InvalidInput("thread is not valid.", field="thread")
    if turn.action != "send" and not (turn.conversation_id or turn.use_current):
        raise InvalidInput(f"{turn.action} needs a conversation_id.", field="conversation_id")


async def prepare_turn(store: Store, settings: Settings, user_id: int, turn: ChatTurn) -> PreparedTurn:
    """Read the conversation and build the context this turn sends; write nothing."""
    check_turn(turn, settings)
    conversation = await _find_conversation(store, user_id, turn)
    if conversation is None and turn.action != "send":
        raise InvalidInput(f"There is no conversation to {turn.action}.", field="conversation_id")
    history = await get_messages(store, user_id, conversation.id) if conversation else []
    content = (turn.content or "").strip()
    if turn.action == "send":
        context = [*history, Message("new", "user", content, 0.0)]
    else:
        last = last_user_index(history, field="conversation_id")
        context = history[: last + 1] if turn.action == "regenerate" else history[:last]
        if turn.action == "edit":
            context.append(Message("new", "user", content, 0.0))
    new_text = "" if turn.action == "regenerate" else content
    return PreparedTurn(turn, conversation, history, _upstream_messages(context, turn.system), new_text)


async def _find_conversation(store: Store, user_id: int, turn: ChatTurn) -> Conversation | None:
    if turn.conversation_id:
        return await get_conversation(store, user_id, turn.conversation_id)
    if turn.use_current:
        return await current_conversation(store, user_id, turn.channel, turn.thread)
    return None


def _upstream_messages(context: Sequence[Message], system: str | None) -> list[dict[str, Any]]:
    """Return the OpenAI messages of a context; a given system prompt replaces the saved one."""
    system = (system or "").strip()
    kept = [m for m in context if not (system and m.role == "system") and (m.content or m.role == "user")]
    messages = [{"role": m.role, "content": m.content} for m in kept]
    return [{"role": "system", "content": system}, *messages] if system else messages


async def open_turn(
    store: Store, settings: Settings, user_id: int, prepared: PreparedTurn, model_id: str, now: float
) -> ChatStart:
    """Save the user's side of the turn (creating the conversation if needed); return the start event."""
    turn, conversation = prepared.turn, prepared.conversation
    content = (turn.content or "").strip()
    if conversation is None:
        conversation = await create_conversation(
            store, user_id, model=model_id, channel=turn.channel, now=now, settings=settings
        )
        if turn.system and turn.system.strip():
            system = new_message("system", turn.system.strip(), now)
            await append_message(store, user_id, conversation.id, system, settings=settings)
    if turn.action == "send":
        user_message = new_message("user", content, now)
        conversation = await append_message(store, user_id, conversation.id, user_message, settings=settings)
        user_message_id = user_message.id
    elif turn.action == "edit":
        kept = await edit_last_user_message(store, user_id, conversation.id, content, now=now, settings=settings)
        user_message_id = kept[-1].id
    else:
        user_message_id = prepared.history[last_user_index(prepared.history, field="conversation_id")].id
    await set_current_conversation(store, user_id, turn.channel, conversation.id, turn.thread)
    return ChatStart(conversation.id, secrets.token_hex(8), user_message_id, conversation.title)


async def close_turn(
    store: Store,
    settings: Settings,
    user_id: int,
    prepared: PreparedTurn,
    start: ChatStart,
    text: str,
    model_id: str,
    now: float,
) -> None:
    """Save the answer (what was delivered); an empty answer leaves the conversation as it is."""
    if not text:
        return
    # An answer longer than a stored message may be is kept cut rather than lost.
    answer = Message(start.message_id, "assistant", text[: settings.MESSAGE_MAX_CHARS], now, model_id)
    try:
        if prepared.turn.action == "regenerate":
            await replace_last_assistant(store, user_id, start.conversation_id, answer, settings=settings)
        else:
            await append_message(store, user_id, start.conversation_id, answer, settings=settings)
    except CoreError as error:  # deleted while it was being answered: nothing to save into
        log.info("answer not saved to conversation %s: %s", start.conversation_id, error.code)
