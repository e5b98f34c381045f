"""Conversation turns (the web chat and the bots): what a turn sends upstream, and saving both sides of it.

A turn is read in `prepare_turn` (nothing written), saved in `open_turn` once an upstream has answered (so a
refused or failed request leaves the conversation as it was), and its answer saved in `close_turn` when the stream
ends — with whatever was delivered, also when the caller stopped it. Regenerate keeps the old answer until the
new one is there; edit replaces the last user message and drops what followed it.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from core.chat.branches import edit_message
from core.chat.chat_settings import DEFAULT_SETTINGS, ChatSettings
from core.chat.conversations import (
    CHANNELS,
    Conversation,
    create_conversation,
    current_conversation,
    delete_conversation,
    get_conversation,
    set_current_conversation,
    update_conversation,
)
from core.chat.events import ChatStart
from core.chat.images import Image, load_images, save_images
from core.chat.messages import (
    Message,
    append_message,
    check_length,
    get_messages,
    last_user_index,
    new_message,
    replace_last_assistant,
)
from core.errors import CoreError, InvalidInput, NotFound
from core.settings import Settings
from core.store.connection import STORE_ERRORS, Store
from core.store.retry import later

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
    message_id: str | None = None  # edit: the user message to replace (None: the last one)
    settings: ChatSettings | None = None  # the chat's settings as the user set them (saved with the turn)
    images: tuple[Image, ...] = ()  # pictures sent with the new words (send, edit)


@dataclass(frozen=True)
class PreparedTurn:
    turn: ChatTurn
    conversation: Conversation | None  # None: created by open_turn
    history: list[Message]
    messages: list[dict[str, Any]]  # the context to send upstream (before fitting)
    new_text: str  # the user's new words, for input moderation ("" on regenerate: nothing new)
    chat: ChatSettings = DEFAULT_SETTINGS  # the settings this turn runs with

    @property
    def params(self) -> dict[str, Any]:
        """The upstream parameters the chat's settings set (temperature, max_tokens)."""
        return self.chat.params()


def check_turn(turn: ChatTurn, settings: Settings) -> None:
    """Refuse a malformed turn before anything is read, checked or consumed."""
    if turn.action not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}.", field="action")
    if turn.channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}.", field="channel")
    limit = settings.MESSAGE_MAX_CHARS
    if turn.action != "regenerate" and not (turn.content or "").strip() and not turn.images:
        raise InvalidInput("The message is empty.", field="content")
    if turn.action == "regenerate" and turn.images:
        raise InvalidInput("Regenerate sends no new images.", field="images")
    check_length(turn.content or "", limit)
    check_length(turn.system or "", limit, field="system")
    if len(turn.thread) > THREAD_MAX_CHARS or not all(c.isascii() and (c.isalnum() or c in "-_") for c in turn.thread):
        raise InvalidInput("thread is not valid.", field="thread")
    if turn.action != "send" and not (turn.conversation_id or turn.use_current):
        raise InvalidInput(f"{turn.action} needs a conversation_id.", field="conversation_id")


async def prepare_turn(
    store: Store, settings: Settings, user_id: int, turn: ChatTurn, *, images_ok: bool = True
) -> PreparedTurn:
    """Read the conversation and build the context this turn sends; write nothing.

    `images_ok`: the model takes images, so the history's pictures go with the context (else only their text does).
    """
    check_turn(turn, settings)
    conversation = await _find_conversation(store, user_id, turn)
    if conversation is None and turn.action != "send":
        raise InvalidInput(f"There is no conversation to {turn.action}.", field="conversation_id")
    history = await get_messages(store, user_id, conversation.id) if conversation else []
    chat = turn.settings or (conversation.settings if conversation else DEFAULT_SETTINGS)
    content = (turn.content or "").strip()
    new_ids = tuple(f"new{index}" for index in range(len(turn.images)))
    question = Message("new", "user", content, 0.0, images=new_ids)
    if turn.action == "send":
        before = history
    elif turn.action == "regenerate":
        last = last_user_index(history, field="conversation_id")
        before, question = history[:last], history[last]
    else:
        at = edit_position(history, turn.message_id)
        before = history[:at]
        if not turn.images:  # an edit without new pictures keeps the question's own
            question = replace(question, images=history[at].images)
    context = [*limit_context(before, chat.context_messages), question]
    new_text = "" if turn.action == "regenerate" else content
    pictures = {image_id: image.data_url for image_id, image in zip(new_ids, turn.images, strict=True)}
    if images_ok and conversation is not None:
        stored = await load_images(store, user_id, conversation.id, [i for m in context for i in m.images])
        pictures.update((image_id, image.data_url) for image_id, image in stored.items())
    messages = _upstream_messages(context, turn.system or chat.system, pictures)
    return PreparedTurn(turn, conversation, history, messages, new_text, chat)


def edit_position(history: Sequence[Message], message_id: str | None) -> int:
    """Return the index of the user message an edit replaces: `message_id`, else the last user message."""
    if not message_id:
        return last_user_index(history, field="conversation_id")
    for index, message in enumerate(history):
        if message.id == message_id:
            if message.role != "user":
                break
            return index
    raise InvalidInput("message_id must name one of your messages in this conversation.", field="message_id")


def limit_context(history: Sequence[Message], keep: int | None) -> list[Message]:
    """Keep the system prompts and the newest `keep` other messages (None: all; the window fit trims later)."""
    if keep is None:
        return list(history)
    others = [index for index, message in enumerate(history) if message.role != "system"]
    kept = set(others[len(others) - keep :]) if keep else set()
    return [message for index, message in enumerate(history) if message.role == "system" or index in kept]


async def _find_conversation(store: Store, user_id: int, turn: ChatTurn) -> Conversation | None:
    if turn.conversation_id:
        return await get_conversation(store, user_id, turn.conversation_id)
    if turn.use_current:
        return await current_conversation(store, user_id, turn.channel, turn.thread)
    return None


def _upstream_messages(
    context: Sequence[Message], system: str | None, pictures: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Return the OpenAI messages of a context (a message's pictures as image parts, where `pictures` has them); a
    given system prompt replaces the saved one."""
    system = (system or "").strip()
    kept = [m for m in context if not (system and m.role == "system") and (m.content or m.role == "user")]
    messages = [{"role": m.role, "content": _content(m, pictures or {})} for m in kept]
    return [{"role": "system", "content": system}, *messages] if system else messages


def _content(message: Message, pictures: dict[str, str]) -> str | list[dict[str, Any]]:
    urls = [pictures[image_id] for image_id in message.images if image_id in pictures]
    if not urls:
        return message.content
    parts: list[dict[str, Any]] = [{"type": "text", "text": message.content}] if message.content else []
    return [*parts, *({"type": "image_url", "image_url": {"url": url}} for url in urls)]


async def open_turn(
    store: Store, settings: Settings, user_id: int, prepared: PreparedTurn, model_id: str, now: float
) -> ChatStart:
    """Save the user's side of the turn (creating the conversation if needed); return the start event.

    A conversation it created is removed again if the store goes away before the turn is saved (the caller answers
    503: nothing of the turn is kept)."""
    turn, conversation = prepared.turn, prepared.conversation
    if conversation is not None:
        return await _save_turn(store, settings, user_id, prepared, conversation, now)
    created = await create_conversation(
        store, user_id, model=model_id, channel=turn.channel, now=now, settings=settings,
        chat_settings=turn.settings or DEFAULT_SETTINGS,
    )  # fmt: skip
    try:
        if turn.system and turn.system.strip():
            system = new_message("system", turn.system.strip(), now)
            await append_message(store, user_id, created.id, system, settings=settings)
        return await _save_turn(store, settings, user_id, prepared, created, now)
    except STORE_ERRORS:
        later(lambda _: _drop_conversation(store, user_id, created.id), "removing a conversation left half-open")
        raise


async def _drop_conversation(store: Store, user_id: int, cid: str) -> None:
    with contextlib.suppress(NotFound):  # removed by an earlier attempt
        await delete_conversation(store, user_id, cid)


async def _save_turn(
    store: Store, settings: Settings, user_id: int, prepared: PreparedTurn, conversation: Conversation, now: float
) -> ChatStart:
    turn = prepared.turn
    content = (turn.content or "").strip()
    if prepared.conversation is not None and turn.settings is not None and turn.settings != conversation.settings:
        conversation = await update_conversation(store, user_id, conversation.id, chat_settings=turn.settings)
    images = await save_images(store, user_id, conversation.id, turn.images)
    if turn.action == "send":
        user_message = replace(new_message("user", content, now), images=images)
        conversation = await append_message(store, user_id, conversation.id, user_message, settings=settings)
        user_message_id = user_message.id
    elif turn.action == "edit":
        target = prepared.history[edit_position(prepared.history, turn.message_id)]
        edited = replace(new_message("user", content, now), images=images or target.images)
        kept = await edit_message(store, user_id, conversation.id, target.id, edited, settings=settings)
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
    tokens: int | None = None,
    *,
    again: bool = False,
) -> None:
    """Save the answer (what was delivered, whole up to ANSWER_MAX_CHARS, else cut there and marked). `again`: an
    earlier attempt may have saved it already (its answer was lost with the store): it is not saved twice."""
    if not text:
        return
    cap = settings.ANSWER_MAX_CHARS
    answer = Message(start.message_id, "assistant", text[:cap], now, model_id, tokens, truncated=len(text) > cap)
    try:
        if prepared.turn.action == "regenerate":
            await replace_last_assistant(store, user_id, start.conversation_id, answer, settings=settings)
        else:
            await append_message(store, user_id, start.conversation_id, answer, settings=settings, once=again)
    except CoreError as error:  # deleted while it was being answered: nothing to save into
        log.info("answer not saved to conversation %s: %s", start.conversation_id, error.code)
