"""Titles written from the first exchange (once, free of quota, with failover, moderated), search over titles and
message text, and share links (a snapshot, revocable, gone with the conversation)."""

# The fixtures come from test_pipeline: using them as parameters is the point.
# ruff: noqa: F811

from __future__ import annotations

import time

import pytest

from core.accounts.users import User
from core.chat.conversations import create_conversation, delete_conversation, get_conversation, rename_conversation
from core.chat.messages import append_message, new_message
from core.chat.search import search_conversations, snippet
from core.chat.shares import get_shared, revoke_share, share_conversation
from core.chat.titles import clean_title, generate_title
from core.errors import InvalidInput, NotFound
from core.moderation import set_words
from core.store.connection import Store
from tests.chat_support import MODEL, add_model, set_plan, usage_totals, window_count
from tests.core.chat.test_pipeline import (  # noqa: F401  (fixtures are used by name)
    MakeServices,
    fake,
    make_services,
    user,
    web_turn,
)
from tests.fakes.openai_upstream import Behaviour, FakeUpstream


async def first_exchange(services: object, user: User) -> str:
    events = await web_turn(services, user, content="How do I bake sourdough bread at home?")  # type: ignore[arg-type]
    return str(events[0].conversation_id)  # type: ignore[union-attr]


async def test_a_title_is_written_once_from_the_first_exchange_free_of_quota(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    async with FakeUpstream() as backup:
        services = await make_services()
        await add_model(store, [fake, backup])
        await set_plan(store, {MODEL: (10, "3h")})
        cid = await first_exchange(services, user)
        assert (await get_conversation(store, user.id, cid)).title == "How do I bake sourdough bread at home?"
        slots, usage = await window_count(store, user.id), await usage_totals(store, user.id, time.time())
        fake.behaviour = Behaviour(status=503)  # the first upstream is down: the title comes through the backup
        backup.behaviour = Behaviour(pieces=("Title: ", '"Home Sourdough', ' Baking".'))
        titled = await generate_title(services, user.id, cid)
        assert (titled.title, titled.title_source) == ("Home Sourdough Baking", "generated")
        request = backup.chat_requests[-1].body
        assert request["messages"][0]["role"] == "system" and "sourdough" in request["messages"][1]["content"]
        assert await window_count(store, user.id) == slots  # no quota slot taken
        assert await usage_totals(store, user.id, time.time()) == usage  # nor counted as the user's usage
        calls = len(backup.chat_requests)
        await generate_title(services, user.id, cid)  # once per conversation
        assert len(backup.chat_requests) == calls


async def test_a_rename_wins_and_a_blocked_or_failed_title_keeps_the_first_words(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    await set_words(store, ["forbidden"])
    services = await make_services(TEXT_SECURITY=["keywords"])
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")})
    cid = await first_exchange(services, user)
    await rename_conversation(store, user.id, cid, "Mine")
    assert (await generate_title(services, user.id, cid)).title == "Mine"

    blocked = await first_exchange(services, user)
    fake.behaviour = Behaviour(pieces=("A forbidden title",))
    assert (await generate_title(services, user.id, blocked)).title_source == "auto"

    fake.behaviour = Behaviour()
    off = await make_services(AUTO_TITLES=False)
    calls = len(fake.chat_requests)
    await generate_title(off, user.id, await first_exchange(services, user))
    assert len(fake.chat_requests) == calls + 1  # the exchange itself, no title request

    failed = await first_exchange(services, user)
    fake.behaviour = Behaviour(status=503)
    assert (await generate_title(services, user.id, failed)).title_source == "auto"


@pytest.mark.parametrize(
    ("reply", "title"),
    [("Title: Bread basics.", "Bread basics"), ("「周末烤面包」", "周末烤面包"), ("\n\n**Plans**\nmore", "Plans"),
     ("x" * 60, "x" * 39 + "…")],
)  # fmt: skip
def test_clean_title(reply: str, title: str) -> None:
    assert clean_title(reply) == title


async def test_search_finds_titles_and_message_text_with_a_snippet(store: Store) -> None:
    first = await create_conversation(store, 1, model=MODEL, channel="web", now=1.0)
    await append_message(store, 1, first.id, new_message("user", "Plan a trip to Kyoto", 2.0))
    answer = new_message("assistant", "Visit Fushimi Inari early\nin the morning.", 3.0)
    await append_message(store, 1, first.id, answer)
    second = await create_conversation(store, 1, model=MODEL, channel="web", title="Morning routine", now=4.0)
    other = await create_conversation(store, 2, model=MODEL, channel="web", now=5.0)
    await append_message(store, 2, other.id, new_message("user", "in the morning", 6.0))

    found = await search_conversations(store, 1, "MORNING")
    assert [(f.conversation.id, bool(f.message_id)) for f in found] == [(second.id, False), (first.id, True)]
    assert found[1].snippet == "…ri early in the morning."  # as written, from a little before the match
    assert found[1].public()["match"]["message_id"] and "match" not in found[0].public()
    found = await search_conversations(store, 1, "early   IN the")  # whitespace and case do not matter
    assert [f.conversation.id for f in found] == [first.id] and "early in the" in found[0].snippet.lower()
    assert await search_conversations(store, 1, "nowhere") == []
    assert [f.conversation.id for f in await search_conversations(store, 1, "kyoto", limit=1)] == [first.id]
    assert snippet("a" * 200 + "needle" + "b" * 200, "needle").count("needle") == 1


async def test_a_share_is_a_revocable_snapshot_without_the_system_prompt(store: Store) -> None:
    conv = await create_conversation(store, 1, model=MODEL, channel="web", title="Recipe", now=1.0)
    with pytest.raises(InvalidInput):
        await share_conversation(store, 1, conv.id, 2.0)  # nothing to share yet
    for role, text in (("system", "secret instructions"), ("user", "Bread?"), ("assistant", "Flour and water.")):
        await append_message(store, 1, conv.id, new_message(role, text, 2.0))
    shared = await share_conversation(store, 1, conv.id, 3.0)
    page = await get_shared(store, shared.id)
    assert (page.title, [(m.role, m.content) for m in page.messages]) == (
        "Recipe", [("user", "Bread?"), ("assistant", "Flour and water.")]
    )  # fmt: skip
    await append_message(store, 1, conv.id, new_message("user", "later words", 4.0))
    assert len((await get_shared(store, shared.id)).messages) == 2  # a snapshot
    again = await share_conversation(store, 1, conv.id, 5.0)
    assert again.id == shared.id and len((await get_shared(store, shared.id)).messages) == 3  # same link, fresh

    assert await revoke_share(store, 1, conv.id) and not await revoke_share(store, 1, conv.id)
    with pytest.raises(NotFound):
        await get_shared(store, shared.id)
    fresh = await share_conversation(store, 1, conv.id, 6.0)
    assert fresh.id != shared.id
    await delete_conversation(store, 1, conv.id)
    with pytest.raises(NotFound):
        await get_shared(store, fresh.id)
    assert await store.redis.exists(store.keys.share(fresh.id)) == 0
    with pytest.raises(NotFound):
        await get_shared(store, "../../etc/passwd")
    with pytest.raises(NotFound):
        await share_conversation(store, 2, conv.id, 7.0)  # another user's id
