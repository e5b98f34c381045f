"""The web chat stream `POST /api/chat`: events, persistence, regenerate / edit, stop, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from core.moderation import set_words
from core.store.connection import Store
from tests.chat_support import CHEAP_HASHING, MODEL, add_model, set_plan, window_count
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, piece, text_of
from tests.webui.conftest import AuthActions, Client, MakeApp


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        yield upstream


@dataclass
class Chatter:
    client: Client
    auth: AuthActions

    async def post(self, **body: Any) -> Any:
        return await self.client.post("/api/chat", json={"model": MODEL, **body}, headers=self.auth.headers)

    async def events(self, **body: Any) -> list[dict[str, Any]]:
        response = await self.post(**body)
        assert response.status_code == 200, await response.get_data()
        assert response.headers["Content-Type"].startswith("text/event-stream")
        return parse(await response.get_data())

    async def conversation(self, cid: str) -> dict[str, Any]:
        response = await self.client.get(f"/api/conversations/{cid}")
        assert response.status_code == 200
        data: dict[str, Any] = await response.get_json()
        return data


def parse(body: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(block[6:]) for block in body.split(b"\n\n") if block.startswith(b"data: ")]


def answer(events: list[dict[str, Any]]) -> str:
    return "".join(event["content"] for event in events if event["type"] == "delta")


async def make_chatter(
    make_app: MakeApp, store: Store, fake: FakeUpstream, limit: int = 10, **settings: Any
) -> Chatter:
    app = await make_app(**CHEAP_HASHING, **settings)
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (limit, "3h")})
    client = app.test_client()
    auth = AuthActions(client)
    await auth.register()
    return Chatter(client, auth)


async def test_send_streams_events_and_saves_the_conversation(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    chatter = await make_chatter(make_app, store, fake)
    fake.behaviour = Behaviour(chunk_delay=0.02)
    events = await chatter.events(content="What is ChatGate?", system="Answer in one line.")
    start, done = events[0], events[-1]
    assert start["type"] == "start" and start["title"] == "What is ChatGate?"
    assert {"conversation_id", "message_id", "user_message_id"} <= set(start)
    assert {e["type"] for e in events[1:-1]} == {"delta"} and len(events) > 4  # streamed in pieces
    assert answer(events) == text_of(8)
    assert done == {"type": "done", "usage": {"prompt_tokens": 9, "completion_tokens": 8}}
    saved = await chatter.conversation(start["conversation_id"])
    assert saved["conversation"]["title"] == "What is ChatGate?"
    assert [(m["role"], m["content"]) for m in saved["messages"]] == [
        ("system", "Answer in one line."),
        ("user", "What is ChatGate?"),
        ("assistant", text_of(8)),
    ]
    assert saved["messages"][-1]["id"] == start["message_id"]
    assert saved["messages"][-1]["model"] == MODEL
    listed = await (await chatter.client.get("/api/conversations")).get_json()
    assert [c["id"] for c in listed["conversations"]] == [start["conversation_id"]]


async def test_regenerate_and_edit_rewrite_the_last_turn(make_app: MakeApp, store: Store, fake: FakeUpstream) -> None:
    chatter = await make_chatter(make_app, store, fake)
    cid = (await chatter.events(content="First question"))[0]["conversation_id"]
    await chatter.events(content="Second question", conversation_id=cid)

    fake.behaviour = Behaviour(chunks=3)
    regenerated = await chatter.events(action="regenerate", conversation_id=cid)
    assert answer(regenerated) == text_of(3)
    messages = (await chatter.conversation(cid))["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "First question"),
        ("assistant", text_of(8)),
        ("user", "Second question"),
        ("assistant", text_of(3)),
    ]
    assert [m["content"] for m in fake.chat_requests[-1].body["messages"]] == [
        "First question",
        text_of(8),
        "Second question",
    ]

    fake.behaviour = Behaviour(chunks=2)
    edited = await chatter.events(action="edit", conversation_id=cid, content="Second question, edited")
    replaced = messages[2]["id"]
    messages = (await chatter.conversation(cid))["messages"]
    assert [(m["role"], m["content"]) for m in messages][2:] == [
        ("user", "Second question, edited"),
        ("assistant", text_of(2)),
    ]
    # The edit is a new version of that message; the one it replaced is kept (version 1 of 2).
    assert edited[0]["user_message_id"] == messages[2]["id"] != replaced
    assert messages[2]["versions"] == {"index": 1, "count": 2}


async def test_stopping_mid_answer_cancels_the_upstream_and_keeps_what_was_delivered(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    chatter = await make_chatter(make_app, store, fake)
    fake.behaviour = Behaviour(chunks=100, chunk_delay=0.03)
    headers = {**chatter.auth.headers, "Content-Type": "application/json"}
    async with chatter.client.request("/api/chat", method="POST", headers=headers) as connection:
        await connection.send(orjson.dumps({"model": MODEL, "content": "Tell me everything"}))
        await connection.send_complete()
        received = b""
        while piece(2).encode() not in received:
            received += await connection.receive()
        await connection.disconnect()
    await asyncio.wait_for(fake.disconnected.wait(), 1.0)
    events = parse(received)
    delivered = answer(events)
    messages = (await chatter.conversation(events[0]["conversation_id"]))["messages"]
    assert messages[-1]["role"] == "assistant"
    assert messages[-1]["content"].startswith(delivered) and text_of(3) in messages[-1]["content"]
    assert len(messages[-1]["content"]) < len(text_of(100))


async def test_errors_before_the_answer_are_json_with_their_status(
    make_app: MakeApp, store: Store, fake: FakeUpstream
) -> None:
    chatter = await make_chatter(make_app, store, fake, limit=1, TEXT_SECURITY=["keywords"])
    await set_words(store, ["forbidden"])
    response = await chatter.post(content="forbidden words")
    assert response.status_code == 400
    assert (await response.get_json())["error"]["code"] == "content_filter"
    assert await window_count(store, chatter.auth.user["id"]) == 0

    await chatter.events(content="Hi")
    response = await chatter.post(content="Again")
    assert response.status_code == 429
    error = (await response.get_json())["error"]
    assert error["code"] == "rate_limit_exceeded" and error["retry_after"] > 0
    assert int(response.headers["Retry-After"]) == error["retry_after"]

    response = await chatter.client.post("/api/chat", json={"model": MODEL, "content": "Hi"})  # no CSRF token
    assert response.status_code == 403
    response = await chatter.post(content="Hi", surprise=True)
    assert response.status_code == 400
    response = await chatter.post(action="regenerate")
    assert (await response.get_json())["error"]["code"] == "invalid_input"
    response = await chatter.post(content="Hi", conversation_id="nope")
    assert response.status_code == 404
    anonymous = chatter.client.app.test_client()
    assert (await anonymous.post("/api/chat", json={"model": MODEL, "content": "Hi"})).status_code == 401


async def test_errors_during_the_answer_are_error_events(make_app: MakeApp, store: Store, fake: FakeUpstream) -> None:
    chatter = await make_chatter(make_app, store, fake, TEXT_SECURITY=["keywords"])
    await set_words(store, [piece(4).strip()])
    fake.behaviour = Behaviour(chunk_delay=0.02)
    events = await chatter.events(content="Count for me")
    assert answer(events) == text_of(4)
    assert events[-1]["type"] == "error" and events[-1]["code"] == "content_filter"

    fake.behaviour = Behaviour(break_after=2)
    events = await chatter.events(content="Count again")
    assert answer(events) == text_of(2)
    assert events[-1]["type"] == "error" and events[-1]["code"] == "upstream_error"
    messages = (await chatter.conversation(events[0]["conversation_id"]))["messages"]
    assert messages[-1]["content"] == text_of(2)  # what was delivered is kept
