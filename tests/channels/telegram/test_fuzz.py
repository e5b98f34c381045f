"""The Telegram webhook under a fuzz pass (Hypothesis): random, truncated, oversized, deeply nested and wrongly
encoded bodies and mangled updates, with a missing, wrong or right secret header, posted over HTTP to
`POST /telegram/webhook` of a served app.

Whatever comes: never a 500 or an error in the logs. Without the secret: 401. With it: a body that is not JSON, or
not a JSON object, 400; over MAX_BODY_BYTES 413; a JSON object aiogram cannot read as an update 200 (Telegram's
queue moves on) and ignored. None of these writes anything to the store; a readable update is taken and handled.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from aiogram.types import Update
from hypothesis import strategies as st
from pydantic import ValidationError

from chatgate.runtime import build_web_app
from core.store.connection import Store
from tests.channels.telegram.conftest import SECRET, BotProcess, MakeBot
from tests.chat_support import serve_app
from tests.fakes.openai_upstream import FakeUpstream
from tests.fakes.telegram_api import FakeTelegram
from tests.fuzz_support import StoreSnapshot, errors_logged, fuzz

PATH = "/telegram/webhook"
BODY_LIMIT = 100_000  # MAX_BODY_BYTES of the app under test
HEADER = "X-Telegram-Bot-Api-Secret-Token"
USER = 4242


@dataclass
class Webhook:
    bot: BotProcess
    http: httpx.AsyncClient
    snapshot: StoreSnapshot

    async def settle(self) -> None:
        """Let the updates taken so far finish (their answers, and the upstream statistics they noted)."""
        await self.bot.channel.telegram.drain(grace=20.0)
        await self.bot.services.relay.stats.close()

    async def post_and_check(self, body: bytes, secret: bytes | None) -> None:
        await self.settle()
        before = await self.snapshot.take()
        status, readable = expected(body, secret)
        headers = {"Content-Type": "application/json"}
        response = await self.http.post(
            PATH, content=body, headers={**headers, HEADER: secret} if secret is not None else headers
        )
        assert response.status_code == status, (response.status_code, status, body[:200], secret)
        if status == 200:
            assert response.json() == {"ok": True}
        if readable:
            return
        await self.settle()
        assert await self.snapshot.take() == before, (body[:200], secret)


def expected(body: bytes, secret: bytes | None) -> tuple[int, bool]:
    """The status a request must get, and whether it carries a readable update (which may write)."""
    if secret != SECRET.encode():
        return 401, False
    if len(body) > BODY_LIMIT:
        return 413, False
    try:
        update = orjson.loads(body)
    except orjson.JSONDecodeError:
        return 400, False
    if not isinstance(update, dict):
        return 400, False
    try:
        Update.model_validate(update)
    except ValidationError:
        return 200, False
    return 200, True


@pytest.fixture
async def webhook(make_bot: MakeBot, store: Store, store_url: str) -> AsyncIterator[Webhook]:
    bot = await make_bot(mode="webhook", MAX_BODY_BYTES=BODY_LIMIT)
    async with contextlib.AsyncExitStack() as stack:
        url = await stack.enter_async_context(serve_app(build_web_app(bot.services, [bot.channel])))
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=20))
        snapshot = StoreSnapshot(store, store_url)
        stack.push_async_callback(snapshot.close)
        yield Webhook(bot, http, snapshot)


# --- what could be posted --------------------------------------------------------------------------------------
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # what JSON numbers Telegram sends fit in
JSON = st.recursive(
    st.none() | st.booleans() | INT64 | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
TEXTS = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["/start", "/help", "/new", "/model", "/usage", "/plan", "/redeem", "/bind", "/notice", "帮助"]),
    st.tuples(st.sampled_from(["/start ", "/redeem ", "/bind ", "/model ", "兑换 "]), st.text(max_size=40)).map(
        "".join
    ),
)
CHAT_TYPES = st.sampled_from(["private", "group", "supergroup", "channel", "sender", "weird"])


def update_of(update_id: int, text: str, chat_type: str) -> dict[str, Any]:
    """A well-formed update: a text message to the bot."""
    chat_id = USER if chat_type == "private" else -100_4242
    return {
        "update_id": update_id,
        "message": {
            "message_id": 7, "date": 1_700_000_000, "text": text,
            "chat": {"id": chat_id, "type": chat_type, "first_name": "Fuzz", "title": "Fuzz group"},
            "from": {"id": USER, "is_bot": False, "first_name": "Fuzz", "language_code": "en"},
        },
    }  # fmt: skip


PLACES = [
    ("update_id",), ("message",), ("message", "chat"), ("message", "chat", "id"), ("message", "chat", "type"),
    ("message", "from"), ("message", "from", "id"), ("message", "from", "is_bot"), ("message", "text"),
    ("message", "date"), ("message", "entities"), ("message", "reply_to_message"), ("message", "message_thread_id"),
    ("message", "from", "language_code"), ("callback_query",), ("edited_message",), ("my_chat_member",),
]  # fmt: skip


@st.composite
def mangled_updates(draw: st.DrawFn) -> dict[str, Any]:
    """A text message update with some of its fields replaced by any JSON value, or removed."""
    update = update_of(draw(INT64), draw(TEXTS), draw(CHAT_TYPES))
    for place in draw(st.lists(st.sampled_from(PLACES), max_size=3)):
        parent: Any = update
        for name in place[:-1]:
            parent = parent.get(name) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            if draw(st.booleans()):
                parent.pop(place[-1], None)
            else:
                parent[place[-1]] = draw(JSON)
    return update


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


ODD_BODIES = [
    b"", b"null", b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000,
    b'{"update_id": 1, "message": "' + b"x" * (BODY_LIMIT + 1) + b'"}',
]  # fmt: skip
ENCODINGS = st.sampled_from(["utf-16", "utf-32", "latin-1", "gbk", "utf-8-sig"])
WELL_FORMED = st.builds(update_of, st.integers(min_value=1, max_value=10**9), TEXTS, CHAT_TYPES)
BODIES: st.SearchStrategy[bytes] = st.one_of(
    mangled_updates().map(dumps),
    WELL_FORMED.map(dumps),
    JSON.map(dumps),
    st.binary(max_size=1000),
    st.tuples(WELL_FORMED.map(dumps), st.integers(min_value=0)).map(lambda cut: cut[0][: cut[1]]),  # truncated
    st.tuples(WELL_FORMED, ENCODINGS).map(lambda pair: orjson.dumps(pair[0]).decode().encode(pair[1], "replace")),
    st.sampled_from(ODD_BODIES),
)
HEADER_BYTES = st.integers(min_value=0x21, max_value=0xFF).filter(
    lambda byte: byte != 0x7F
)  # what HTTP lets a header carry
SECRETS: st.SearchStrategy[bytes | None] = st.one_of(
    st.none(),
    st.just(b""),
    st.lists(HEADER_BYTES, min_size=1, max_size=64).map(bytes),
    st.just(SECRET.encode() + b"x"),
    st.just(SECRET.encode()[:-1]),
    st.just(SECRET.upper().encode()),
)


async def test_without_the_secret_any_body_gets_401_and_changes_nothing(
    webhook: Webhook, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    async def check(case: tuple[bytes, bytes | None]) -> None:
        await webhook.post_and_check(*case)

    await fuzz(st.tuples(BODIES, SECRETS), check, examples=80)
    assert not fake.calls_to("sendMessage") and not errors_logged(caplog)


async def test_with_the_secret_bad_bodies_get_4xx_or_are_ignored_and_updates_are_handled(
    webhook: Webhook, fake: FakeTelegram, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    async def check(body: bytes) -> None:
        await webhook.post_and_check(body, SECRET.encode())

    await fuzz(BODIES, check, examples=150)
    await webhook.settle()
    assert not errors_logged(caplog)
    assert fake.calls_to("sendMessage") and upstream.chat_requests  # readable updates were answered, chats too
