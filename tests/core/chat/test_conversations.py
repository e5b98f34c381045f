import asyncio

import pytest

from core.chat.conversations import (
    Conversation,
    auto_title,
    clear_current_conversation,
    create_conversation,
    current_conversation,
    delete_conversation,
    get_conversation,
    list_conversations,
    rename_conversation,
    set_current_conversation,
)
from core.chat.messages import (
    Message,
    append_message,
    edit_last_user_message,
    export_markdown,
    get_messages,
    new_message,
    replace_last_assistant,
)
from core.errors import InvalidInput, NotFound
from core.settings import Settings
from core.store.connection import Store

T0 = 1_700_000_000.0


async def new(store: Store, user_id: int = 1, now: float = T0, **changes: object) -> Conversation:
    options: dict[str, object] = {"model": "gpt-4o-mini", "channel": "web", "now": now, **changes}
    return await create_conversation(store, user_id, **options)  # type: ignore[arg-type]


async def chat(store: Store, conv: Conversation, *turns: str, now: float = T0, user_id: int = 1) -> None:
    """Append alternating user / assistant messages, one second apart."""
    for i, text in enumerate(turns):
        role = "user" if i % 2 == 0 else "assistant"
        model = "gpt-4o-mini" if role == "assistant" else None
        await append_message(store, user_id, conv.id, new_message(role, text, now + i + 1, model))


async def test_create_get_and_list_newest_first(store: Store) -> None:
    first = await new(store, now=T0)
    second = await new(store, now=T0 + 10, channel="telegram")
    assert await get_conversation(store, 1, first.id) == first
    assert [c.id for c in await list_conversations(store, 1)] == [second.id, first.id]
    # Activity moves a conversation to the top.
    await chat(store, first, "hello again", now=T0 + 20)
    listed = await list_conversations(store, 1)
    assert [c.id for c in listed] == [first.id, second.id]
    assert listed[0].updated_at == T0 + 21 and listed[0].created_at == T0
    assert listed[1].channel == "telegram"
    assert [c.id for c in await list_conversations(store, 1, limit=1)] == [first.id]


async def test_conversations_are_private_to_their_user(store: Store) -> None:
    conv = await new(store, user_id=1)
    await chat(store, conv, "secret")
    assert await list_conversations(store, 2) == []
    for call in (
        get_conversation(store, 2, conv.id),
        get_messages(store, 2, conv.id),
        rename_conversation(store, 2, conv.id, "mine"),
        delete_conversation(store, 2, conv.id),
        append_message(store, 2, conv.id, new_message("user", "x", T0)),
    ):
        with pytest.raises(NotFound):
            await call
    assert (await get_conversation(store, 1, conv.id)).title == "secret"


async def test_first_user_message_sets_the_title(store: Store) -> None:
    conv = await new(store)
    assert conv.title == ""
    text = "\n\n   Explain   the\tdifference between TCP and UDP in detail please, with examples\nsecond line"
    await append_message(store, 1, conv.id, new_message("system", "be brief", T0 + 1))
    assert (await get_conversation(store, 1, conv.id)).title == ""
    updated = await append_message(store, 1, conv.id, new_message("user", text, T0 + 2))
    assert updated.title == "Explain the difference between TCP and…"
    assert len(updated.title) <= 40
    await chat(store, conv, "Another question entirely")
    assert (await get_conversation(store, 1, conv.id)).title == updated.title
    assert auto_title("短标题") == "短标题"


async def test_given_title_is_kept_and_rename_validates(store: Store) -> None:
    conv = await new(store, title="  My   plans ")
    assert conv.title == "My plans"
    await chat(store, conv, "first message")
    assert (await get_conversation(store, 1, conv.id)).title == "My plans"
    renamed = await rename_conversation(store, 1, conv.id, "Trip to 杭州")
    assert renamed.title == "Trip to 杭州"
    assert renamed.updated_at == (await get_conversation(store, 1, conv.id)).updated_at
    for bad in ("", "   ", "x" * 101):
        with pytest.raises(InvalidInput):
            await rename_conversation(store, 1, conv.id, bad)
    assert (await get_conversation(store, 1, conv.id)).title == "Trip to 杭州"
    with pytest.raises(InvalidInput):
        await new(store, title="y" * 101)
    with pytest.raises(NotFound):
        await rename_conversation(store, 1, "missing", "t")


async def test_search_by_title_is_case_insensitive(store: Store) -> None:
    titles = ["Python asyncio", "Travel to Paris", "PYTHON typing", "报告 草稿"]
    for i, title in enumerate(titles):
        await new(store, now=T0 + i, title=title)
    assert [c.title for c in await list_conversations(store, 1, query="python")] == ["PYTHON typing", "Python asyncio"]
    assert [c.title for c in await list_conversations(store, 1, query="草稿")] == ["报告 草稿"]
    assert await list_conversations(store, 1, query="nothing") == []
    assert len(await list_conversations(store, 1, query="  ")) == 4


async def test_delete_removes_every_key(store: Store) -> None:
    conv = await new(store)
    await chat(store, conv, "hi", "hello")
    await set_current_conversation(store, 1, "web", conv.id)
    await delete_conversation(store, 1, conv.id)
    assert await store.redis.exists(store.keys.conversation(1, conv.id), store.keys.messages(1, conv.id)) == 0
    assert await store.redis.zscore(store.keys.conversations(1), conv.id) is None
    assert await current_conversation(store, 1, "web") is None
    with pytest.raises(NotFound):
        await delete_conversation(store, 1, conv.id)


async def test_count_cap_deletes_the_least_recently_updated(store: Store, settings: Settings) -> None:
    settings.CONVERSATION_MAX_COUNT = 3
    convs = [await new(store, now=T0 + i, settings=settings) for i in range(3)]
    await chat(store, convs[0], "keep me", now=T0 + 50)  # the oldest becomes the most recent
    fourth = await new(store, now=T0 + 100, settings=settings)
    ids = [c.id for c in await list_conversations(store, 1)]
    assert ids == [fourth.id, convs[0].id, convs[2].id]
    assert not await store.redis.exists(store.keys.conversation(1, convs[1].id))
    assert await store.redis.zcard(store.keys.conversations(1)) == 3


async def test_concurrent_creates_respect_the_cap(store: Store, settings: Settings) -> None:
    settings.CONVERSATION_MAX_COUNT = 5
    await asyncio.gather(*(new(store, now=T0 + i, settings=settings) for i in range(20)))
    assert await store.redis.zcard(store.keys.conversations(1)) == 5
    assert len(await list_conversations(store, 1)) == 5


async def test_message_cap_trims_the_oldest(store: Store, settings: Settings) -> None:
    settings.CONVERSATION_MAX_MESSAGES = 4
    conv = await new(store)
    for i in range(6):
        await append_message(store, 1, conv.id, new_message("user", f"m{i}", T0 + i), settings=settings)
    assert [m.content for m in await get_messages(store, 1, conv.id)] == ["m2", "m3", "m4", "m5"]
    assert (await get_conversation(store, 1, conv.id)).message_count == 4


async def test_bad_messages_are_refused_and_nothing_written(store: Store, settings: Settings) -> None:
    settings.MESSAGE_MAX_CHARS = 10
    conv = await new(store)
    bad = [("user", "x" * 11), ("user", "  \n "), ("tool", "hi")]
    for role, content in bad:
        with pytest.raises(InvalidInput):
            await append_message(store, 1, conv.id, new_message(role, content, T0), settings=settings)
    assert await get_messages(store, 1, conv.id) == []
    assert (await get_conversation(store, 1, conv.id)) == conv
    with pytest.raises(InvalidInput):
        await new(store, channel="fax")
    with pytest.raises(NotFound):
        await get_conversation(store, 1, "../../etc")


async def test_messages_round_trip_with_model(store: Store) -> None:
    conv = await new(store)
    sent = Message("abc", "assistant", "**bold** and 中文", T0 + 5, "gpt-4o")
    updated = await append_message(store, 1, conv.id, sent)
    assert await get_messages(store, 1, conv.id) == [sent]
    assert updated.model == "gpt-4o" and updated.message_count == 1


async def test_channel_contexts_are_independent(store: Store) -> None:
    web, tg = await new(store), await new(store, channel="telegram")
    assert await current_conversation(store, 1, "web") is None
    await set_current_conversation(store, 1, "web", web.id)
    await set_current_conversation(store, 1, "telegram", tg.id)
    assert (await current_conversation(store, 1, "web")) == web
    assert (await current_conversation(store, 1, "telegram")) == tg
    assert await current_conversation(store, 1, "wechat") is None
    await clear_current_conversation(store, 1, "telegram")
    assert await current_conversation(store, 1, "telegram") is None
    assert (await current_conversation(store, 1, "web")) == web
    assert await current_conversation(store, 2, "web") is None
    with pytest.raises(NotFound):
        await set_current_conversation(store, 2, "web", web.id)
    with pytest.raises(InvalidInput):
        await current_conversation(store, 1, "sms")


async def test_edit_replaces_the_last_user_message_and_drops_what_follows(store: Store) -> None:
    conv = await new(store)
    await chat(store, conv, "q1", "a1", "q2", "a2")
    original = (await get_messages(store, 1, conv.id))[2]
    kept = await edit_last_user_message(store, 1, conv.id, "q2 edited", now=T0 + 30)
    assert [m.content for m in kept] == ["q1", "a1", "q2 edited"]
    stored = await get_messages(store, 1, conv.id)
    assert stored == kept
    assert stored[2].id == original.id and stored[2].created_at == T0 + 30
    with pytest.raises(InvalidInput):
        await edit_last_user_message(store, 1, conv.id, "   ", now=T0 + 31)
    assert await get_messages(store, 1, conv.id) == kept


async def test_resend_needs_a_user_message(store: Store) -> None:
    conv = await new(store)
    await append_message(store, 1, conv.id, new_message("system", "sys", T0))
    with pytest.raises(InvalidInput):
        await edit_last_user_message(store, 1, conv.id, "edited", now=T0)
    with pytest.raises(NotFound):
        await edit_last_user_message(store, 2, conv.id, "edited", now=T0)


async def test_replace_last_assistant(store: Store) -> None:
    conv = await new(store)
    await chat(store, conv, "q1", "a1", "q2", "a2")
    answer = new_message("assistant", "a2 better", T0 + 40, "gpt-4o")
    kept = await replace_last_assistant(store, 1, conv.id, answer)
    assert [m.content for m in kept] == ["q1", "a1", "q2", "a2 better"]
    assert await get_messages(store, 1, conv.id) == kept
    assert (await get_conversation(store, 1, conv.id)).model == "gpt-4o"


async def test_export_markdown(store: Store) -> None:
    conv = await new(store)
    await append_message(store, 1, conv.id, new_message("user", "What is 2+2?", T0 + 1))
    await append_message(store, 1, conv.id, new_message("assistant", "It is **4**.\n", T0 + 2, "gpt-4o"))
    text = export_markdown(await get_conversation(store, 1, conv.id), await get_messages(store, 1, conv.id))
    assert text == "# What is 2+2?\n\n**User**\n\nWhat is 2+2?\n\n**Assistant** (gpt-4o)\n\nIt is **4**.\n"
    empty = await new(store)
    assert export_markdown(empty, []).startswith("# Untitled conversation")
    marked = [Message("q", "user", "Look", T0, images=("a", "b")), Message("a", "assistant", "Cut", T0, truncated=True)]
    text = export_markdown(conv, marked)
    assert "Look\n\n_(2 images attached)_" in text and "Cut\n\n_[answer truncated]_" in text
