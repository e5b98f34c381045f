"""The channel seam: how a channel (the web chat, the WeChat official account, the Telegram bot) runs a chat turn.

A channel identifies the account (web: the session; bots: core.accounts.channel_identities) and then makes one call,
`run_channel_turn`, with the user's words: the turn continues the account's current conversation in that channel
(``{u:ID}:ctx:<channel>``, started afresh by `new_channel_conversation`), with the model chosen in that channel,
charged to the account's one plan and quota, and its answer comes back as a stream of events
(core.chat.events: ChatStart, ChatDelta..., ChatDone or ChatError). The channel renders the events in its medium
and must close the stream. Everything else (moderation, quota, failover, saving both sides) is the chat path's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.billing.subscriptions import current_plan
from core.chat.conversations import CHANNELS, clear_current_conversation, current_conversation
from core.chat.events import ChatStream
from core.chat.pipeline import relay_chat
from core.chat.request import ChatRequest
from core.chat.turns import ChatTurn
from core.errors import InvalidInput, ModelNotFound
from core.relay.catalogue import cached_model, list_models

if TYPE_CHECKING:
    from core.accounts.users import User
    from core.services import Services


def _check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}.", field="channel")
    return channel


async def run_channel_turn(
    services: Services,
    user: User,
    channel: str,
    text: str,
    *,
    action: str = "send",
    stream: bool = True,
    thread: str = "",
) -> ChatStream:
    """Run one turn of `user` in `channel`'s current conversation (a new one when there is none); return its events.

    `action`: "send" (the default), "regenerate" or "edit" (of the current conversation's last user message).
    `thread`: a place inside the channel with a current conversation of its own (a Telegram group: what the user
    asks there does not continue, or show, their private chat). Raises CoreError for anything refused before the
    answer starts (quota, moderation, model not in the plan...).
    """
    model = await channel_model(services, user, channel, thread)
    turn = ChatTurn(content=text, action=action, channel=_check_channel(channel), use_current=True, thread=thread)  # type: ignore[arg-type]
    return await relay_chat(services, user, ChatRequest(model=model, turn=turn, stream=stream))


async def channel_model(services: Services, user: User, channel: str, thread: str = "") -> str:
    """Return the model a turn in this channel uses: the one chosen there, else the current conversation's, else the
    first enabled model the user's plan includes."""
    store = services.store
    chosen = await store.redis.get(store.keys.channel_model(user.id, _check_channel(channel)))
    if chosen and (model := await cached_model(store, str(chosen))) is not None and model.enabled and model.chats:
        return model.id
    conversation = await current_conversation(store, user.id, channel, thread)
    if conversation is not None and conversation.model:
        return conversation.model
    plan = await current_plan(store, user.id, services.clock())
    for model in await list_models(store):
        if model.enabled and model.chats and model.id in plan.limits:
            return model.id
    raise ModelNotFound("No model is available on your plan.")


async def choose_channel_model(services: Services, user: User, channel: str, model_id: str) -> None:
    """Make `model_id` the model of the user's next turns in this channel (ModelNotFound for an unknown one)."""
    store = services.store
    model = await cached_model(store, model_id)
    if model is None or not model.enabled or not model.chats:
        raise ModelNotFound(f"The model `{model_id}` does not exist.", model=model_id)
    await store.redis.set(store.keys.channel_model(user.id, _check_channel(channel)), model.id)


async def new_channel_conversation(services: Services, user: User, channel: str, thread: str = "") -> None:
    """Start afresh in a channel (or one of its threads): the next turn opens a new conversation."""
    await clear_current_conversation(services.store, user.id, _check_channel(channel), thread)
