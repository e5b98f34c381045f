"""The channel seam: a bot's turn continues its channel's conversation, on the account's one plan and quota."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.accounts.channel_identities import bind_identity, identify
from core.chat.channel import choose_channel_model, new_channel_conversation, run_channel_turn
from core.chat.conversations import current_conversation, list_conversations
from core.chat.events import ChatDelta, ChatDone, ChatEvent, ChatStart, ChatStream
from core.chat.messages import get_messages
from core.errors import ModelNotFound, QuotaExceeded
from core.services import Services, build_services
from core.settings import Settings
from core.store.connection import Store
from tests.chat_support import MODEL, add_model, new_user, set_plan, window_count
from tests.fakes.openai_upstream import FakeUpstream


@pytest.fixture
async def services(settings: Settings, store: Store) -> AsyncIterator[Services]:
    async with FakeUpstream() as fake:
        built = await build_services(settings, store)
        await add_model(store, [fake])
        await add_model(store, [fake], model_id="other-model")
        await set_plan(store, {MODEL: (3, "1h"), "other-model": (3, "1h")})
        try:
            yield built
        finally:
            await built.close()


async def answer(stream: ChatStream) -> list[ChatEvent]:
    try:
        return [event async for event in stream]
    finally:
        await stream.aclose()


async def test_turns_continue_the_channels_conversation(services: Services, store: Store, settings: Settings) -> None:
    user = await identify(store, settings, "telegram", "1001", now=services.clock())
    first = await answer(await run_channel_turn(services, user, "telegram", "hello"))
    assert isinstance(first[0], ChatStart) and isinstance(first[-1], ChatDone)
    assert "".join(e.content for e in first if isinstance(e, ChatDelta))
    second = await answer(await run_channel_turn(services, user, "telegram", "and again"))
    assert isinstance(second[0], ChatStart) and second[0].conversation_id == first[0].conversation_id
    messages = await get_messages(store, user.id, first[0].conversation_id)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert await window_count(store, user.id) == 2  # the account's one quota
    await new_channel_conversation(services, user, "telegram")
    third = await answer(await run_channel_turn(services, user, "telegram", "fresh start"))
    assert isinstance(third[0], ChatStart) and third[0].conversation_id != first[0].conversation_id
    assert len(await list_conversations(store, user.id)) == 2
    with pytest.raises(QuotaExceeded):
        await run_channel_turn(services, user, "telegram", "one too many")


async def test_channels_have_their_own_conversation_and_model(
    services: Services, store: Store, settings: Settings
) -> None:
    web = await new_user(store, settings)
    await bind_identity(store, "wechat", "o-7", web.id, now=services.clock())
    await answer(await run_channel_turn(services, web, "wechat", "from wechat"))
    assert await current_conversation(store, web.id, "telegram") is None
    await choose_channel_model(services, web, "wechat", "other-model")
    await answer(await run_channel_turn(services, web, "wechat", "now the other model"))
    assert await window_count(store, web.id, "other-model") == 1 and await window_count(store, web.id) == 1
    with pytest.raises(ModelNotFound):
        await choose_channel_model(services, web, "wechat", "no-such-model")
