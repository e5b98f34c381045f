"""Input moderation on /v1 sees every piece of text the caller sent, and content the model does not take never
reaches its upstream (issue 9, item 6)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.moderation import set_words
from core.relay.catalogue import get_model, save_model
from core.store.connection import Store
from tests.chat_support import MODEL, window_count
from tests.fakes.openai_upstream import Behaviour, FakeUpstream
from tests.webui.conftest import MakeApp
from tests.webui.test_v1 import assert_openai_error, content_of, sse_events
from tests.webui.v1_support import Caller, make_caller

HELLO = {"role": "user", "content": "Hello"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "x"}'}}
SMUGGLED: list[dict[str, Any]] = [
    {"messages": [{"role": "user", "content": "say forbidden\u200bword"}]},
    {"messages": [{"role": "user", "content": "ｆｏｒｂｉｄｄｅｎｗｏｒｄ"}]},
    {"messages": [{"role": "user", "content": "FORBIDDEN\ufeffWORD"}]},
    {"messages": [{"role": "assistant", "content": "forbiddenword"}, HELLO]},
    {"messages": [{"role": "user", "content": "Hi", "name": "forbiddenword"}]},
    {"messages": [{"role": "assistant", "content": None, "tool_calls": [
        {**CALL, "function": {"name": "lookup", "arguments": '{"q": "forbidden\\u200bword"}'}}]},  # JSON-escaped
        {"role": "tool", "tool_call_id": "call_1", "content": "ok"}, HELLO]},
    {"messages": [{"role": "assistant", "content": None, "tool_calls": [
        {**CALL, "function": {"name": "forbiddenword", "arguments": "{}"}}]}, HELLO]},
    {"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"},
        {"type": "input_text", "text": "forbiddenword"}]}]},
    {"messages": [{"role": "assistant", "content": [{"type": "refusal", "refusal": "forbiddenword"}]}, HELLO]},
    {"messages": [HELLO], "tools": [{"type": "function", "function": {"name": "f", "description": "forbiddenword"}}]},
]  # fmt: skip


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        yield upstream


@pytest.fixture
async def caller(make_app: MakeApp, store: Store, fake: FakeUpstream) -> Caller:
    made = await make_caller(make_app, store, fake, limit=100, TEXT_SECURITY=["keywords"])
    await set_words(store, ["forbiddenword"])
    return made


@pytest.mark.parametrize("body", SMUGGLED)
async def test_every_text_the_caller_sent_is_moderated(
    caller: Caller, store: Store, fake: FakeUpstream, body: dict[str, Any]
) -> None:
    for _ in range(2):  # the ordinary path, then (the key now remembered) the fast path's check
        response = await caller.chat(**body)
        assert response.status_code == 400, await response.get_data()
        assert assert_openai_error(await response.get_json(), "content_filter")["param"] == "messages"
        assert (await caller.chat()).status_code == 200
    assert await window_count(store, caller.user_id) == 2 and len(fake.chat_requests) == 2


async def test_a_disguised_word_in_the_answer_stops_the_stream(caller: Caller, fake: FakeUpstream) -> None:
    fake.behaviour = Behaviour(pieces=("Sure: FOR", "BIDDEN\u200b", "ｗｏｒｄ", " and more"), chunk_delay=0.05)
    response = await caller.chat(stream=True)
    events = sse_events(await response.get_data())
    assert content_of(events) == "Sure: FORBIDDEN\u200b"  # stopped before the piece that completed the word
    assert any(isinstance(event, dict) and event.get("error", {}).get("code") == "content_filter" for event in events)


IMAGE = {"type": "image_url", "image_url": {"url": "http://169.254.169.254/latest/meta-data/iam/"}}


async def test_content_a_model_does_not_take_never_reaches_its_upstream(
    caller: Caller, store: Store, fake: FakeUpstream
) -> None:
    for part in (IMAGE, {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}, {"type": "x"}):
        for _ in range(2):  # the ordinary path, then the fast path
            response = await caller.chat(messages=[{"role": "user", "content": [{"type": "text", "text": "?"}, part]}])
            error = assert_openai_error(await response.get_json(), "unsupported_content")
            assert response.status_code == 400 and error["param"] == "messages[0].content[1].type"
            assert (await caller.chat()).status_code == 200
    assert fake.chat_requests and all("image_url" not in str(request.body) for request in fake.chat_requests)
    assert await window_count(store, caller.user_id) == 6


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://169.254.169.254/latest/meta-data/", False),
        ("https://169.254.169.254/latest/meta-data/", False),
        ("https://metadata.google.internal/computeMetadata/v1/", False),
        ("https://localhost/a.png", False),
        ("https://127.0.0.1/a.png", False),
        ("https://[::1]/a.png", False),
        ("https://10.0.0.5/a.png", False),
        ("https://2130706433/a.png", False),
        ("https://0x7f.1/a.png", False),
        ("file:///etc/passwd", False),
        ("https://images.example.com/cat.png", True),
        ("data:image/png;base64,iVBORw0KGgo=", True),
    ],
)
async def test_image_addresses_are_checked_where_images_are_taken(
    caller: Caller, store: Store, fake: FakeUpstream, url: str, allowed: bool
) -> None:
    model = await get_model(store, MODEL)
    assert model is not None
    model.input_types = ["text", "image"]
    await save_model(store, model)
    part = {"type": "image_url", "image_url": {"url": url, "detail": "low"}}
    response = await caller.chat(messages=[{"role": "user", "content": [{"type": "text", "text": "What?"}, part]}])
    if allowed:
        assert response.status_code == 200 and fake.chat_requests[-1].body["messages"][0]["content"][1] == part
    else:
        error = assert_openai_error(await response.get_json(), "unsupported_content")
        assert error["param"] == "messages[0].content[1].image_url.url" and fake.chat_requests == []
