"""The chat path end to end in core: real store, loopback fake upstreams, real moderation and quotas."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from core.accounts.users import User
from core.billing.quotas import tokens_used_today, use_reset_chance
from core.billing.redemption import generate_codes, redeem_code
from core.billing.subscriptions import add_subscription
from core.chat.content import caller_texts
from core.chat.conversations import get_conversation
from core.chat.events import ChatDelta, ChatDone, ChatError, ChatEvent, ChatStart
from core.chat.messages import get_messages
from core.chat.pipeline import relay_chat
from core.chat.prompt import fit_prompt
from core.chat.request import ChatRequest
from core.chat.token_count import count_tokens
from core.chat.token_pool import TokenPool
from core.chat.turns import ChatTurn
from core.errors import (
    ContentBlocked,
    ContextTooLong,
    InvalidInput,
    ModelNotFound,
    ModelNotInPlan,
    QuotaExceeded,
    UnknownParameter,
    UpstreamUnavailable,
)
from core.moderation import set_words
from core.relay.catalogue import Model
from core.services import Services, build_services
from core.settings import Settings
from core.store.connection import Store
from tests.chat_support import MODEL, add_model, new_user, set_plan, usage_totals, window_count
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, piece, text_of

MakeServices = Callable[..., Awaitable[Services]]
HELLO = [{"role": "user", "content": "Hello"}]


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def make_services(settings: Settings, store: Store) -> AsyncIterator[MakeServices]:
    async with contextlib.AsyncExitStack() as stack:

        async def make(clock: Callable[[], float] = time.time, **overrides: Any) -> Services:
            services = await build_services(settings.model_copy(update=overrides), store, clock)
            stack.push_async_callback(services.close)
            return services

        yield make


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        yield upstream


@pytest.fixture
async def user(store: Store, settings: Settings) -> User:
    return await new_user(store, settings)


async def collect(services: Services, user: User, request: ChatRequest) -> list[ChatEvent]:
    stream = await relay_chat(services, user, request)
    try:
        return [event async for event in stream]
    finally:
        await stream.aclose()


def text(events: list[ChatEvent]) -> str:
    return "".join(event.content for event in events if isinstance(event, ChatDelta))


async def test_a_streamed_answer_is_forwarded_counted_and_charged(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await make_services()
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")})
    events = await collect(services, user, ChatRequest(model=MODEL, messages=HELLO))
    assert text(events) == text_of(8)
    assert b"".join(e.raw for e in events if isinstance(e, ChatDelta)).endswith(b"data: [DONE]\n\n")
    done = events[-1]
    assert isinstance(done, ChatDone) and (done.usage.prompt_tokens, done.usage.completion_tokens) == (9, 8)
    assert await window_count(store, user.id) == 1
    assert await usage_totals(store, user.id, services.clock()) == (1, 9, 8)
    sent = fake.chat_requests[0].body
    assert sent["messages"] == HELLO and sent["stream"] is True and sent["model"] == MODEL


async def test_passthrough_params_reach_the_upstream_and_unknown_ones_are_refused(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await make_services()
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")})
    body = {"model": MODEL, "messages": HELLO, "temperature": 0.2, "max_tokens": 50, "stream": True}
    await collect(services, user, ChatRequest.from_openai(body))
    sent = fake.chat_requests[0].body
    assert (sent["temperature"], sent["max_tokens"]) == (0.2, 50)
    with pytest.raises(UnknownParameter) as unknown:
        ChatRequest.from_openai({**body, "evil": 1})
    assert unknown.value.data["field"] == "evil" and unknown.value.code == "unknown_parameter"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": HELLO}, "model"),
        ({"model": MODEL, "messages": []}, "messages"),
        ({"model": MODEL}, "messages"),
        ({"model": MODEL, "messages": ["hi"]}, "messages[0]"),
        ({"model": MODEL, "messages": HELLO, "stream": "yes"}, "stream"),
        ({"model": MODEL, "messages": HELLO, "n": 0}, "n"),
        ({"model": MODEL, "messages": HELLO, "n": 129}, "n"),
        ({"model": MODEL, "messages": HELLO, "functions": "f"}, "functions"),
        ({"model": MODEL, "messages": HELLO, "metadata": {"a": 1}}, "metadata"),
        ({"model": MODEL, "messages": HELLO, "store": "yes"}, "store"),
        ({"model": MODEL, "messages": HELLO, "stream_options": []}, "stream_options"),
        ({"model": MODEL, "messages": [{"role": "bogus", "content": "hi"}]}, "messages[0].role"),
        ({"model": MODEL, "messages": [{"role": "user"}]}, "messages[0].content"),
        ({"model": MODEL, "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"model": MODEL, "messages": [{"role": "user", "content": [{"type": "text"}]}]}, "messages[0].content"),
        ({"model": MODEL, "messages": [{"role": "user", "content": []}]}, "messages[0].content"),
        ({"model": MODEL, "messages": HELLO, "max_tokens": "x"}, "max_tokens"),
        ({"model": MODEL, "messages": HELLO, "max_tokens": 0}, "max_tokens"),
        ({"model": MODEL, "messages": HELLO, "temperature": "hot"}, "temperature"),
        ({"model": MODEL, "messages": HELLO, "temperature": 2.5}, "temperature"),
        ({"model": MODEL, "messages": HELLO, "top_p": True}, "top_p"),
        ({"model": MODEL, "messages": HELLO, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"model": MODEL, "messages": HELLO, "tools": "all"}, "tools"),
    ],
)  # fmt: skip
def test_malformed_openai_bodies_are_refused(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        ChatRequest.from_openai(body)
    assert caught.value.data["field"] == field


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "system", "content": "Be brief."}],  # OpenAI accepts a system-only call
        [{"role": "system", "content": "s"}, {"role": "user", "content": ""}],  # and an empty user content
        [{"role": "developer", "content": ""}, {"role": "user", "content": "hi"}],
        [{"role": "user", "content": [{"type": "text", "text": "what is this?"}, {"type": "image_url",
                                                                                   "image_url": {"url": "data:,"}}]}],
        [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}],
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]},
         {"role": "tool", "tool_call_id": "c", "content": "42"}],
    ],
)  # fmt: skip
def test_well_formed_openai_bodies_pass(messages: list[dict[str, Any]]) -> None:
    body = {"model": MODEL, "messages": messages, "temperature": 0, "max_tokens": 5, "stop": ["x"], "seed": -1}
    assert ChatRequest.from_openai(body).messages == messages


async def test_unknown_model_is_refused_and_nothing_consumed(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await make_services()
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")})
    with pytest.raises(ModelNotFound):
        await relay_chat(services, user, ChatRequest(model="gpt-9", messages=HELLO))
    assert fake.chat_requests == []
    assert await usage_totals(store, user.id, services.clock(), "gpt-9") == (0, 0, 0)


async def test_expired_subscription_falls_back_to_free_and_a_model_not_in_plan_is_refused(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    clock = Clock()
    services = await make_services(clock)
    await add_model(store, [fake], "gpt-4o")
    await add_model(store, [fake], MODEL)
    await set_plan(store, {MODEL: (10, "3h")})
    await set_plan(store, {"gpt-4o": (10, "3h"), MODEL: (50, "3h")}, name="pro")
    await add_subscription(store, user.id, "pro", 3600, clock.now)
    assert text(await collect(services, user, ChatRequest(model="gpt-4o", messages=HELLO))) == text_of(8)
    clock.now += 3601
    with pytest.raises(ModelNotInPlan):
        await relay_chat(services, user, ChatRequest(model="gpt-4o", messages=HELLO))
    assert await window_count(store, user.id, "gpt-4o") == 1
    assert text(await collect(services, user, ChatRequest(model=MODEL, messages=HELLO))) == text_of(8)


async def test_the_limit_refuses_and_a_reset_chance_frees_the_window(
    make_services: MakeServices, store: Store, settings: Settings, fake: FakeUpstream, user: User
) -> None:
    services = await make_services()
    await add_model(store, [fake])
    plan = await set_plan(store, {MODEL: (2, "1d")})
    for _ in range(2):
        await collect(services, user, ChatRequest(model=MODEL, messages=HELLO))
    with pytest.raises(QuotaExceeded) as caught:
        await relay_chat(services, user, ChatRequest(model=MODEL, messages=HELLO))
    assert 0 < caught.value.data["retry_after"] <= 86_400
    assert len(fake.chat_requests) == 2
    code = (await generate_codes(store, reset_chances=1, count=1, now=time.time())).codes[0]
    await redeem_code(store, settings, user.id, code, now=time.time())  # a redemption code gives alice a chance
    assert await use_reset_chance(store, user.id, plan) == 0
    assert await window_count(store, user.id) == 0
    assert text(await collect(services, user, ChatRequest(model=MODEL, messages=HELLO))) == text_of(8)


@pytest.mark.parametrize(
    "failure",
    [Behaviour(status=500), Behaviour(status=429), Behaviour(hang=3.0), Behaviour(hang_after_headers=3.0)],
    ids=["500", "429", "timeout", "silent-after-headers"],
)
async def test_a_failing_first_upstream_fails_over_to_the_second(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User, failure: Behaviour
) -> None:
    services = await make_services(UPSTREAM_FIRST_BYTE_TIMEOUT=1.0)
    async with FakeUpstream(behaviour=failure) as broken:
        await add_model(store, [broken, fake])
        await set_plan(store, {MODEL: (10, "3h")})
        events = await collect(services, user, ChatRequest(model=MODEL, messages=HELLO))
    assert text(events) == text_of(8)
    assert len(broken.chat_requests) == 1 and len(fake.chat_requests) == 1
    assert await window_count(store, user.id) == 1


async def test_all_upstreams_down_is_unavailable_and_nothing_is_charged(
    make_services: MakeServices, store: Store, user: User
) -> None:
    services = await make_services()
    async with (
        FakeUpstream(behaviour=Behaviour(status=503)) as one,
        FakeUpstream(behaviour=Behaviour(status=500)) as two,
    ):
        await add_model(store, [one, two])
        await set_plan(store, {MODEL: (10, "3h")})
        with pytest.raises(UpstreamUnavailable):
            await relay_chat(services, user, ChatRequest(model=MODEL, messages=HELLO))
        with pytest.raises(UpstreamUnavailable):
            await relay_chat(services, user, ChatRequest(model=MODEL, messages=HELLO, stream=False))
    assert await window_count(store, user.id) == 0
    assert await usage_totals(store, user.id, services.clock()) == (0, 0, 0)


@pytest.mark.parametrize("after", [0, 3])
async def test_a_mid_stream_break_ends_with_an_error_and_charges_only_what_was_delivered(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User, after: int
) -> None:
    services = await make_services()
    fake.behaviour = Behaviour(break_after=after)
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")})
    events = await collect(services, user, ChatRequest(model=MODEL, messages=HELLO))
    assert text(events) == text_of(after)
    error = events[-1]
    assert isinstance(error, ChatError) and error.error.code == "upstream_error"
    assert b'"error"' in b"".join(e.raw for e in events if isinstance(e, ChatDelta))
    requests, prompt, completion = await usage_totals(store, user.id, services.clock())
    if after == 0:  # broke before the first token: refunded, nothing recorded
        assert (requests, prompt, completion) == (0, 0, 0)
        assert await window_count(store, user.id) == 0
        return
    assert (requests, completion) == (1, count_tokens(text_of(after), MODEL))
    assert prompt > 0
    assert await window_count(store, user.id) == 1


@pytest.mark.parametrize("after", [0, 2])
async def test_malformed_sse_from_the_upstream_ends_with_an_error(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User, after: int
) -> None:
    services = await make_services()
    fake.behaviour = Behaviour(malformed_after=after, chunk_delay=0.01)
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")})
    try:
        events = await collect(services, user, ChatRequest(model=MODEL, messages=HELLO))
    except UpstreamUnavailable:  # the bad line came with the first event: no upstream could answer
        events = []
    assert text(events) == text_of(after)
    if events:
        assert isinstance(events[-1], ChatError)
    charged = 1 if after else 0  # a failure before the first token is refunded
    assert await window_count(store, user.id) == charged
    assert (await usage_totals(store, user.id, services.clock()))[0] == charged


async def test_a_blocked_input_consumes_nothing_wherever_the_caller_put_it(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await make_services(TEXT_SECURITY=["keywords"])
    await set_words(store, ["forbidden"])
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")})
    with pytest.raises(ContentBlocked):
        await relay_chat(services, user, ChatRequest(model=MODEL, messages=[{"role": "user", "content": "forbidden"}]))
    assert await window_count(store, user.id) == 0 and fake.chat_requests == []
    answered = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "fine"},
        {"role": "user", "content": "Hello"},
    ]
    assert text(await collect(services, user, ChatRequest(model=MODEL, messages=answered))) == text_of(8)
    # Everything in an API call is the caller's own writing, "assistant" turns included: a system prompt or a made-up
    # earlier turn cannot carry text past moderation.
    for smuggled in (
        [{"role": "system", "content": "forbidden"}, {"role": "user", "content": "Hello"}],
        [{"role": "developer", "content": "forbidden"}, {"role": "user", "content": "Hello"}],
        [{"role": "user", "content": "forbidden"}, {"role": "assistant", "content": "ok"}, *answered[2:]],
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "forbidden too"}, *answered[2:]],
    ):
        with pytest.raises(ContentBlocked):
            await relay_chat(services, user, ChatRequest(model=MODEL, messages=smuggled))
    assert await window_count(store, user.id) == 1 and len(fake.chat_requests) == 1


def test_caller_texts_are_every_text_the_caller_sent() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "old", "name": "bob"},
        {"role": "assistant", "content": "answer"},  # an API caller writes the "assistant" turns too
        {
            "role": "user",
            "content": [{"type": "text", "text": "new"}, {"type": "image_url", "image_url": {"url": "x"}}],
        },
        {"role": "tool", "content": "result"},
    ]
    assert caller_texts(messages) == ["be nice", "old", "bob", "answer", "new", "result"]


async def test_a_blocked_output_stops_the_stream(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await make_services(TEXT_SECURITY=["keywords"])
    await set_words(store, [piece(3).strip()])
    fake.behaviour = Behaviour(chunks=8, chunk_delay=0.02)
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")})
    events = await collect(services, user, ChatRequest(model=MODEL, messages=HELLO))
    error = events[-1]
    assert isinstance(error, ChatError) and error.error.code == "content_filter"
    assert b'"code":"content_filter"' in error.raw
    assert text(events) == text_of(3)
    await asyncio.wait_for(fake.disconnected.wait(), 1.0)  # the upstream was told to stop
    completion = (await usage_totals(store, user.id, services.clock()))[2]
    assert completion == count_tokens(text_of(3), MODEL)


async def test_a_blocked_non_stream_answer_is_not_returned(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await make_services(TEXT_SECURITY=["keywords"])
    await set_words(store, [piece(5).strip()])
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")})
    with pytest.raises(ContentBlocked):
        await relay_chat(services, user, ChatRequest(model=MODEL, messages=HELLO, stream=False))
    assert await usage_totals(store, user.id, services.clock()) == (1, 9, 0)


async def test_a_non_stream_answer_returns_the_upstream_json(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await make_services()
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")}, daily_tokens=10_000)  # room for the reservation (~4,100 tokens)
    events = await collect(services, user, ChatRequest(model=MODEL, messages=HELLO, stream=False))
    delta = events[0]
    assert isinstance(delta, ChatDelta) and delta.content == text_of(8)
    assert b'"object":"chat.completion"' in delta.raw
    assert await usage_totals(store, user.id, services.clock()) == (1, 9, 8)
    assert await tokens_used_today(store, user.id, services.clock()) == 17


async def test_closing_the_stream_cancels_the_upstream_within_a_second(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await make_services()
    fake.behaviour = Behaviour(chunks=50, chunk_delay=0.05)
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")})
    stream = await relay_chat(services, user, ChatRequest(model=MODEL, messages=HELLO))
    received = ""
    async for event in stream:
        if isinstance(event, ChatDelta):
            received += event.content
        if len(received) >= len(text_of(2)):
            break
    await stream.aclose()
    await asyncio.wait_for(fake.disconnected.wait(), 1.0)
    completion = (await usage_totals(store, user.id, services.clock()))[2]
    assert completion == count_tokens(received, MODEL)


async def test_an_api_callers_history_is_sent_whole_or_refused_and_a_conversation_is_fitted(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await make_services()
    model = await add_model(store, [fake], context_window=400)
    await set_plan(store, {MODEL: (10, "3h")})
    history: list[dict[str, Any]] = [{"role": "system", "content": "You are terse."}]
    for turn in range(30):
        history += [{"role": "user", "content": f"question {turn} " * 5}, {"role": "assistant", "content": "ok " * 5}]
    history.append({"role": "user", "content": "the newest question"})
    with pytest.raises(ContextTooLong) as refused:
        await relay_chat(services, user, ChatRequest(model=MODEL, messages=history, params={"max_tokens": 100}))
    assert refused.value.data["context_window"] == 400 and refused.value.data["prompt_tokens"] > 300
    assert "maximum context length is 400 tokens" in refused.value.message
    assert fake.chat_requests == [] and await window_count(store, user.id) == 0
    await collect(services, user, ChatRequest(model=MODEL, messages=history[-9:], params={"max_tokens": 100}))
    assert fake.chat_requests[0].body["messages"] == history[-9:]  # what fits goes as sent
    # A conversation (the web chat, the bots) keeps its fitting: system prompt and the newest turns.
    prompt = await fit_prompt(services.relay.tokens, model, history, {"max_tokens": 100})
    assert prompt.messages[0] == history[0] and prompt.messages[-1] == history[-1]
    assert 3 < len(prompt.messages) < len(history) and prompt.tokens is not None and prompt.tokens <= 300
    tail = prompt.messages[1:]
    assert tail == history[len(history) - len(tail) :]  # a contiguous tail of the newest turns


async def test_small_requests_skip_the_tokenizer() -> None:
    model = Model(id=MODEL, name=MODEL, context_window=128_000)
    prompt = await fit_prompt(TokenPool(1), model, HELLO, {})
    assert (prompt.messages, prompt.tokens) == (HELLO, None)


async def web_turn(services: Services, user: User, **turn: Any) -> list[ChatEvent]:
    return await collect(services, user, ChatRequest(model=MODEL, turn=ChatTurn(**turn)))


async def test_web_turns_persist_the_conversation_and_regenerate_and_edit_work(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await make_services()
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")})
    events = await web_turn(services, user, content="Tell me a story\nplease", system="Be brief.")
    start = events[0]
    assert isinstance(start, ChatStart) and start.title == "Tell me a story"
    cid = start.conversation_id
    assert [(m.role, m.content) for m in await get_messages(store, user.id, cid)] == [
        ("system", "Be brief."),
        ("user", "Tell me a story\nplease"),
        ("assistant", text_of(8)),
    ]
    assert fake.chat_requests[0].body["messages"][0] == {"role": "system", "content": "Be brief."}

    fake.behaviour = Behaviour(chunks=3)
    regenerated = await web_turn(services, user, action="regenerate", conversation_id=cid)
    messages = await get_messages(store, user.id, cid)
    assert [m.content for m in messages][1:] == ["Tell me a story\nplease", text_of(3)]
    assert messages[-1].id == regenerated[0].message_id  # type: ignore[union-attr]
    assert fake.chat_requests[1].body["messages"][-1] == {"role": "user", "content": "Tell me a story\nplease"}

    await web_turn(services, user, action="edit", conversation_id=cid, content="A poem instead")
    assert [(m.role, m.content) for m in await get_messages(store, user.id, cid)][1:] == [
        ("user", "A poem instead"),
        ("assistant", text_of(3)),
    ]
    follow_up = await web_turn(services, user, content="Thanks", conversation_id=cid)
    assert follow_up[0].conversation_id == cid  # type: ignore[union-attr]
    sent = fake.chat_requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert (await get_conversation(store, user.id, cid)).message_count == 5
    assert await store.redis.get(store.keys.channel_context(user.id, "web")) == cid


async def test_a_stopped_web_answer_keeps_what_was_delivered(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await make_services()
    fake.behaviour = Behaviour(chunks=50, chunk_delay=0.03)
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")})
    stream = await relay_chat(services, user, ChatRequest(model=MODEL, turn=ChatTurn(content="Go")))
    received = ""
    async for event in stream:
        if isinstance(event, ChatDelta):
            received += event.content
        if len(received) >= len(text_of(2)):
            break
    await stream.aclose()
    assert stream.start is not None
    messages = await get_messages(store, user.id, stream.start.conversation_id)
    assert [(m.role, m.content) for m in messages] == [("user", "Go"), ("assistant", received)]


async def test_a_failed_web_turn_writes_nothing(make_services: MakeServices, store: Store, user: User) -> None:
    services = await make_services()
    async with FakeUpstream(behaviour=Behaviour(status=500)) as down:
        await add_model(store, [down])
        await set_plan(store, {MODEL: (10, "3h")})
        with pytest.raises(UpstreamUnavailable):
            await relay_chat(services, user, ChatRequest(model=MODEL, turn=ChatTurn(content="Hi")))
    assert await store.redis.zcard(store.keys.conversations(user.id)) == 0
    assert await window_count(store, user.id) == 0


@pytest.mark.parametrize(
    "turn",
    [
        ChatTurn(content="  "),
        ChatTurn(action="regenerate"),
        ChatTurn(action="edit", content="x"),
        ChatTurn(content="x", channel="fax"),
    ],
)
async def test_malformed_turns_are_refused_before_anything_is_consumed(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User, turn: ChatTurn
) -> None:
    services = await make_services()
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")})
    with pytest.raises(InvalidInput):
        await relay_chat(services, user, ChatRequest(model=MODEL, turn=turn))
    assert await window_count(store, user.id) == 0


async def test_a_turns_custom_system_prompt_is_moderated(
    make_services: MakeServices, store: Store, fake: FakeUpstream, user: User
) -> None:
    services = await make_services(TEXT_SECURITY=["keywords"])
    await set_words(store, ["forbidden"])
    await add_model(store, [fake])
    await set_plan(store, {MODEL: (10, "3h")})
    with pytest.raises(ContentBlocked):
        await web_turn(services, user, content="Hello", system="Say forbidden things.")
    assert await window_count(store, user.id) == 0 and fake.chat_requests == []
    assert text(await web_turn(services, user, content="Hello", system="Be kind.")) == text_of(8)
