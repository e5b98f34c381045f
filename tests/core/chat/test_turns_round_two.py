"""Web turns, round two: answers kept whole (and marked when cut), the chat's own settings, editing any question
with the replaced branch kept as a version, and pictures for models that take them."""

# The fixtures come from test_pipeline: using them as parameters is the point.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import base64
import struct
import zlib
from typing import Any

import pytest

from core.accounts.users import User
from core.chat.branches import MAX_VERSIONS, edit_message, switch_version, versions_of
from core.chat.chat_settings import ChatSettings, settings_from_dict
from core.chat.conversations import create_conversation, get_conversation
from core.chat.events import ChatDone, ChatStart
from core.chat.images import load_images, parse_images
from core.chat.messages import append_message, get_messages, new_message
from core.errors import InvalidInput, MessageTooLong, NotFound, UnsupportedContent
from core.relay.catalogue import save_model
from core.store.connection import Store
from tests.chat_support import MODEL, add_model, set_plan
from tests.core.chat.test_pipeline import (  # noqa: F401  (fixtures are used by name)
    MakeServices,
    fake,
    make_services,
    user,
    web_turn,
)
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, text_of

LONG = "".join(f"段落 {n}: The answer goes on, with `code` and **bold** text. " for n in range(800))  # ~45,000 chars


def png(width: int = 2, height: int = 2) -> bytes:
    """A tiny valid PNG (white pixels)."""
    row = b"\x00" + b"\xff\xff\xff" * width
    chunk = lambda kind, data: (  # noqa: E731
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


async def ready(make_services: MakeServices, store: Store, fake: FakeUpstream, **settings: Any) -> Any:
    services = await make_services(**settings)
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (50, "3h")})
    return services


async def test_a_long_answer_is_kept_whole_and_one_over_the_cap_is_cut_and_marked(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await ready(make_services, store, fake)
    assert len(LONG) > 44_000 > services.settings.MESSAGE_MAX_CHARS
    fake.behaviour = Behaviour(pieces=tuple(LONG[i : i + 900] for i in range(0, len(LONG), 900)))
    events = await web_turn(services, user, content="Write a lot")
    saved = (await get_messages(store, user.id, events[0].conversation_id))[-1]  # type: ignore[union-attr]
    assert saved.content == LONG and not saved.truncated  # exactly what streamed, not cut at MESSAGE_MAX_CHARS
    done = events[-1]
    assert isinstance(done, ChatDone) and saved.tokens == done.usage.completion_tokens > 0

    services = await make_services(ANSWER_MAX_CHARS=10_000)
    events = await web_turn(services, user, content="Again")
    saved = (await get_messages(store, user.id, events[0].conversation_id))[-1]  # type: ignore[union-attr]
    assert saved.content == LONG[:10_000] and saved.truncated


async def test_too_long_input_is_refused_with_its_length(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await ready(make_services, store, fake)
    with pytest.raises(MessageTooLong) as refused:
        await web_turn(services, user, content="x" * 38_000)
    assert refused.value.data == {"field": "content", "max": 32_000, "length": 38_000}
    assert isinstance(refused.value, InvalidInput) and fake.chat_requests == []


async def test_the_chats_settings_shape_what_is_sent_and_are_kept_with_it(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await ready(make_services, store, fake)
    chosen = ChatSettings(system="Answer in French.", system_name="Traducteur", temperature=0.3, max_tokens=500,
                          context_messages=2)  # fmt: skip
    events = await web_turn(services, user, content="one", settings=chosen)
    cid = events[0].conversation_id  # type: ignore[union-attr]
    assert (await get_conversation(store, user.id, cid)).settings == chosen
    for word in ("two", "three"):
        await web_turn(services, user, content=word, conversation_id=cid)  # no settings sent: the saved ones apply
    body = fake.chat_requests[-1].body
    assert body["temperature"] == 0.3 and body["max_tokens"] == 500
    # The system prompt, then only the 2 messages before the question (context_messages), then the question.
    assert [(m["role"], m["content"]) for m in body["messages"]] == [
        ("system", "Answer in French."), ("user", "two"), ("assistant", text_of(8)), ("user", "three"),
    ]  # fmt: skip

    changed = ChatSettings(temperature=1.2)
    await web_turn(services, user, content="four", conversation_id=cid, settings=changed)
    body = fake.chat_requests[-1].body
    assert body["temperature"] == 1.2 and "max_tokens" not in body and body["messages"][0]["role"] == "user"
    assert len(body["messages"]) == 7  # every earlier message (None: all that fit) and the question
    assert (await get_conversation(store, user.id, cid)).settings == changed


@pytest.mark.parametrize(
    ("data", "field"),
    [({"temperature": 2.5}, "settings.temperature"), ({"max_tokens": 0}, "settings.max_tokens"),
     ({"context_messages": -1}, "settings.context_messages"), ({"surprise": 1}, "settings.surprise"),
     ({"temperature": True}, "settings.temperature"), ({"system": "x" * 101}, "settings.system")],
)  # fmt: skip
def test_bad_settings_are_refused_naming_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        settings_from_dict(data, system_max_chars=100)
    assert refused.value.data["field"] == field


async def test_editing_an_earlier_question_keeps_the_replaced_branch_as_a_version(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await ready(make_services, store, fake)
    cid = (await web_turn(services, user, content="first"))[0].conversation_id  # type: ignore[union-attr]
    await web_turn(services, user, content="second", conversation_id=cid)
    first = (await get_messages(store, user.id, cid))[0]
    fake.behaviour = Behaviour(chunks=2)
    edited = await web_turn(services, user, action="edit", conversation_id=cid, content="first, better",
                            message_id=first.id)  # fmt: skip
    assert fake.chat_requests[-1].body["messages"] == [{"role": "user", "content": "first, better"}]
    now = await get_messages(store, user.id, cid)
    assert [(m.role, m.content) for m in now] == [("user", "first, better"), ("assistant", text_of(2))]
    assert isinstance(edited[0], ChatStart) and edited[0].user_message_id == now[0].id != first.id
    group = now[0].group
    assert group and (await versions_of(store, user.id, cid, now))[group].public() == {"index": 1, "count": 2}

    back = await switch_version(store, user.id, cid, group, 0, now=1.0)
    assert [m.content for m in back] == ["first", text_of(8), "second", text_of(8)]
    assert (await get_conversation(store, user.id, cid)).message_count == 4
    again = await switch_version(store, user.id, cid, group, 1, now=2.0)
    assert [m.content for m in again] == ["first, better", text_of(2)]
    with pytest.raises(InvalidInput):
        await switch_version(store, user.id, cid, group, 2, now=3.0)
    with pytest.raises(InvalidInput):  # only the user's own messages
        await web_turn(services, user, action="edit", conversation_id=cid, content="x", message_id=again[1].id)


async def test_an_edited_question_keeps_at_most_the_newest_versions(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await ready(make_services, store, fake)
    fake.behaviour = Behaviour(chunks=1)
    cid = (await web_turn(services, user, content="v0"))[0].conversation_id  # type: ignore[union-attr]
    for n in range(1, MAX_VERSIONS + 3):
        question = (await get_messages(store, user.id, cid))[0]
        await web_turn(services, user, action="edit", conversation_id=cid, content=f"v{n}", message_id=question.id)
    messages = await get_messages(store, user.id, cid)
    group = messages[0].group
    assert group and (await versions_of(store, user.id, cid, messages))[group].count == MAX_VERSIONS
    oldest = await switch_version(store, user.id, cid, group, 0, now=1.0)
    assert oldest[0].content == "v3"  # v0..v2 went past the cap, oldest first


async def test_pictures_go_to_a_model_that_takes_them_and_are_kept(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await ready(make_services, store, fake)
    picture = parse_images([data_url(png())])
    with pytest.raises(UnsupportedContent):  # text-only by default: refused before anything is sent or kept
        await web_turn(services, user, content="What is this?", images=tuple(picture))
    assert fake.chat_requests == []

    model = await add_model(store, [fake])
    model.input_types = ["text", "image"]
    await save_model(store, model)
    services = await make_services()
    events = await web_turn(services, user, content="What is this?", images=tuple(picture))
    cid = events[0].conversation_id  # type: ignore[union-attr]
    question = (await get_messages(store, user.id, cid))[0]
    assert len(question.images) == 1
    kept = await load_images(store, user.id, cid, question.images)
    assert kept[question.images[0]].data == png()
    sent = fake.chat_requests[-1].body["messages"][-1]["content"]
    assert sent == [{"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": data_url(png())}}]  # fmt: skip
    await web_turn(services, user, content="And now?", conversation_id=cid)
    assert fake.chat_requests[-1].body["messages"][0]["content"][1]["type"] == "image_url"  # the history's too
    await web_turn(services, user, action="edit", conversation_id=cid, message_id=question.id, content="Which bird?")
    edited = (await get_messages(store, user.id, cid))[0]
    assert edited.content == "Which bird?" and edited.images == question.images  # the edit keeps its picture
    assert fake.chat_requests[-1].body["messages"][0]["content"][1]["image_url"]["url"] == data_url(png())

    model.input_types = ["text"]
    await save_model(store, model)
    services = await make_services()
    await web_turn(services, user, content="Text only now", conversation_id=cid)  # earlier pictures stay out
    assert fake.chat_requests[-1].body["messages"][0] == {"role": "user", "content": "Which bird?"}


@pytest.mark.parametrize(
    "url",
    ["data:image/png;base64,bm90IGEgcG5n", "data:image/svg+xml;base64,PHN2Zz4=", "https://example.com/a.png",
     data_url(b"\xff\xd8\xff" + b"0" * 10, "image/png")],
)  # fmt: skip
def test_only_real_pictures_of_our_types_are_accepted(url: str) -> None:
    with pytest.raises(InvalidInput):
        parse_images([url])
    assert len(parse_images([data_url(png())] * 4)) == 4
    with pytest.raises(InvalidInput):
        parse_images([data_url(png())] * 5)


async def test_concurrent_edits_of_one_question_each_become_a_version(store: Store) -> None:
    conversation = await create_conversation(store, 1, model=MODEL, channel="web", now=1.0)
    question = new_message("user", "original", 1.0)
    await append_message(store, 1, conversation.id, question)
    await append_message(store, 1, conversation.id, new_message("assistant", "answer", 2.0, MODEL))

    async def edit(n: int) -> None:
        shown = (await get_messages(store, 1, conversation.id))[0]
        await edit_message(store, 1, conversation.id, shown.id, new_message("user", f"edit {n}", 3.0 + n))

    results = await asyncio.gather(*(edit(n) for n in range(5)), return_exceptions=True)
    # An edit that lost its race to another reads the list again only if it retries; one whose message was replaced
    # meanwhile is refused (NotFound) rather than applied to the wrong message.
    applied = [result for result in results if result is None]
    assert applied and all(isinstance(result, (type(None), NotFound)) for result in results)
    messages = await get_messages(store, 1, conversation.id)
    versions = (await versions_of(store, 1, conversation.id, messages))[messages[0].group or ""]
    assert versions.count == len(applied) + 1 and versions.index == versions.count - 1
    texts = set()
    for index in range(versions.count):
        shown = await switch_version(store, 1, conversation.id, messages[0].group or "", index, now=9.0)
        texts.add(shown[0].content)
        assert shown[0].group == messages[0].group
    assert "original" in texts and len(texts) == versions.count  # no version lost or duplicated
