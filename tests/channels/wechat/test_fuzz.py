"""The WeChat webhook under a fuzz pass (Hypothesis): malformed, random, truncated, oversized and wrongly encoded
bodies, in plain and safe mode (envelopes with bad signatures, other apps' and undecryptable AES payloads), and
queries with bad signatures, posted over HTTP to the real route of a served app.

Whatever comes: never a 500 or an error in the logs; an unsigned request gets 403, a body over MAX_BODY_BYTES 413,
a signed body that is not a WeChat message 200 `success` (WeChat's "received, no reply"), and none of them writes
anything to the store. What parses as a message is answered (200) like any other.
"""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import xmltodict
from hypothesis import strategies as st
from wechatpy.crypto import PrpCrypto

from channels.wechat import WeChatChannel
from channels.wechat.codec import MAX_BODY_BYTES, Codec, Refused, signature_of
from chatgate.runtime import build_web_app
from core.services import Services
from core.settings import Settings
from core.store.connection import Store
from tests.channels.wechat.conftest import _process_services
from tests.chat_support import MODEL, add_model, serve_app, set_plan
from tests.fakes.openai_upstream import FakeUpstream
from tests.fakes.wechat import FakeWeChat
from tests.fuzz_support import StoreSnapshot, errors_logged, fuzz

BODY_LIMIT = 100_000  # MAX_BODY_BYTES of the app under test (the default 1 MB works alike, only slower to fuzz)
OPENIDS = ("o-fuzz-1", "o-fuzz-2")


@dataclass
class Hook:
    fake: FakeWeChat
    channel: WeChatChannel
    services: Services
    oracle: Codec  # the account's own codec: tells which bodies are messages
    snapshot: StoreSnapshot

    async def expect(self, body: bytes, query: dict[str, str]) -> tuple[int, bool]:
        """The status a request must get, and whether it carries a message (it may then write)."""
        try:
            self.oracle.check(query)
            if len(body) > BODY_LIMIT:
                return 413, False
            return 200, self.oracle.open(body, query) is not None
        except Refused:
            return 403, False

    async def settle(self) -> None:
        """Let what earlier messages started finish writing: their jobs, and the upstream statistics they noted."""
        await self.channel.delivery.drain(grace=10.0)
        await self.services.relay.stats.close()

    async def post_and_check(self, body: bytes, query: dict[str, str]) -> None:
        """Post one request; check its status, its body and that a refused or ignored one wrote nothing."""
        await self.settle()
        before = await self.snapshot.take()
        status, message = await self.expect(body, query)
        attempt = await self.fake.post(body, query)
        assert attempt.status == status, (attempt.status, status, body[:200], query)
        if message:
            return
        if status == 200:
            assert attempt.body == b"success"
        await self.settle()
        assert await self.snapshot.take() == before, (body[:200], query)


MakeHook = Callable[..., Awaitable[Hook]]


@pytest.fixture
async def make_hook(
    settings: Settings, store: Store, store_url: str, upstream: FakeUpstream
) -> AsyncIterator[MakeHook]:
    await add_model(store, [upstream])
    await set_plan(store, {MODEL: (1000, "1h")})
    async with contextlib.AsyncExitStack() as stack:

        async def make(**options: Any) -> Hook:
            fake = await stack.enter_async_context(FakeWeChat(**options))
            configured = settings.model_copy(update={**fake.settings_update(), "MAX_BODY_BYTES": BODY_LIMIT})
            services = await stack.enter_async_context(_process_services(configured, store_url))
            channel = WeChatChannel(services)
            url = await stack.enter_async_context(serve_app(build_web_app(services, [channel])))
            fake.targets.append(url + configured.WECHAT_PATH)
            aes_key = configured.WECHAT_AES_KEY.get_secret_value()
            snapshot = StoreSnapshot(store, store_url)
            stack.push_async_callback(snapshot.close)
            return Hook(fake, channel, services, Codec(fake.token, aes_key, fake.appid), snapshot)

        yield make


# --- what WeChat could be sent --------------------------------------------------------------------------------
TEXT = st.text(max_size=60)
ODD = st.sampled_from(["", "-1", "0", "1e9", "0x1F", "NaN", "٣", "9" * 40, " 12 ", "\u00a0"])
VALUES = st.one_of(TEXT, st.integers().map(str), ODD)
MSG_TYPES = st.sampled_from(
    ["text", "voice", "image", "event", "link", "location", "video", "file", "", "TEXT", "hologram"]
)
EVENTS = st.sampled_from(["subscribe", "unsubscribe", "CLICK", "VIEW", "SCAN", "LOCATION", "", "Weird"])
ENCODINGS = st.sampled_from(["gbk", "utf-16", "utf-32", "latin-1", "big5", "utf-8-sig"])


@st.composite
def message_fields(draw: st.DrawFn) -> dict[str, str]:
    """A message's fields, any of them missing, mistyped or strange."""
    fields = {
        "ToUserName": draw(st.one_of(st.just("gh_fake_account"), VALUES)),
        "FromUserName": draw(st.one_of(st.sampled_from(OPENIDS), VALUES)),
        "CreateTime": draw(st.one_of(st.just(str(int(time.time()))), VALUES)),
        "MsgType": draw(MSG_TYPES),
        "MsgId": draw(st.one_of(st.integers(min_value=1, max_value=2**64).map(str), VALUES)),
        "Content": draw(TEXT),
        "Event": draw(EVENTS),
        "EventKey": draw(VALUES),
        "Recognition": draw(TEXT),
    }
    dropped = draw(st.sets(st.sampled_from(sorted(fields))))
    return {name: value for name, value in fields.items() if name not in dropped}


def to_xml(fields: dict[str, str]) -> str:
    return str(xmltodict.unparse({"xml": fields}, full_document=False))


SPECIAL = [
    b"",
    b"\xef\xbb\xbf",
    b"<xml>" + b"<a>" * 3000 + b"</xml>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><xml><Content>&b;</Content></xml>',
    b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><xml><FromUserName>&x;</FromUserName></xml>',
    b"<xml><FromUserName>o-fuzz-1</FromUserName><MsgType>text</MsgType><Content>" + b"a" * (MAX_BODY_BYTES + 10)
    + b"</Content></xml>",
    b"x" * (BODY_LIMIT + 1),
]  # fmt: skip

XML_TEXT = st.one_of(
    message_fields().map(to_xml),
    st.tuples(message_fields().map(to_xml), st.integers(min_value=0)).map(lambda cut: cut[0][: cut[1]]),
    TEXT.map(lambda text: f"<xml>{text}</xml>"),
    TEXT,
)
BODIES = st.one_of(
    message_fields().map(lambda fields: to_xml(fields).encode()),
    st.binary(max_size=2000),
    XML_TEXT.map(str.encode),
    st.tuples(message_fields(), ENCODINGS).map(lambda pair: to_xml(pair[0]).encode(pair[1], errors="replace")),
    st.sampled_from(SPECIAL),
)


# --- the tests -------------------------------------------------------------------------------------------------
async def test_plain_mode_survives_any_body(make_hook: MakeHook, caplog: pytest.LogCaptureFixture) -> None:
    hook = await make_hook()
    claims_aes = st.booleans()

    async def check(case: tuple[bytes, bool]) -> None:
        body, aes = case
        query = hook.fake.signed_query(OPENIDS[0])
        if aes:  # a safe-mode query to an account without a key: refused
            query.update(encrypt_type="aes", msg_signature="0" * 40)
        await hook.post_and_check(body, query)

    await fuzz(st.tuples(BODIES, claims_aes), check, examples=150)
    assert not errors_logged(caplog)


@dataclass(frozen=True)
class Sealed:
    """A safe-mode request to make: an envelope around `inner` (sealed for this account, for another app, or
    replaced by `garbage`), its signature right or `bad_signature`; or a `body` that is no envelope."""

    kind: str
    inner: str
    garbage: str
    bad_signature: str
    body: bytes

    def request(self, fake: FakeWeChat) -> tuple[bytes, dict[str, str]]:
        if self.kind == "plain":  # safe mode takes sealed bodies only
            return self.inner.encode(), fake.signed_query(OPENIDS[0])
        if self.kind == "garbage":  # signed, but not AES of anything with our key
            encrypted = self.garbage
        elif self.kind == "other_app":
            encrypted = PrpCrypto(fake._crypto().key).encrypt(self.inner, "wx" + "0" * 16).decode()
        else:
            encrypted = fake.envelope(self.inner)
        envelope = f"<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        query = fake.signed_query(OPENIDS[0], encrypted)
        if self.kind == "bad_signature":
            query["msg_signature"] = self.bad_signature
        return (self.body if self.kind == "not_an_envelope" else envelope.encode()), query


AES_BLOCKS = st.integers(min_value=1, max_value=8).flatmap(lambda n: st.binary(min_size=16 * n, max_size=16 * n))
SEALED = st.builds(
    Sealed,
    kind=st.sampled_from(["inner", "garbage", "other_app", "bad_signature", "not_an_envelope", "plain"]),
    inner=XML_TEXT,
    garbage=st.one_of(
        AES_BLOCKS.map(lambda raw: base64.b64encode(raw).decode()),  # decrypts, to nonsense
        st.binary(max_size=300).map(lambda raw: base64.b64encode(raw).decode()),
        TEXT,
    ),
    bad_signature=st.one_of(st.text(alphabet="0123456789abcdef", min_size=40, max_size=40), TEXT),
    body=BODIES,
)


async def test_safe_mode_survives_bad_envelopes_and_payloads(
    make_hook: MakeHook, caplog: pytest.LogCaptureFixture
) -> None:
    hook = await make_hook(aes=True)

    async def check(case: Sealed) -> None:
        await hook.post_and_check(*case.request(hook.fake))

    await fuzz(SEALED, check, examples=120)
    assert not errors_logged(caplog)


HEX40 = st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)


@st.composite
def unsigned_query(draw: st.DrawFn, fake: FakeWeChat) -> dict[str, str]:
    """A query that is not WeChat's: a made-up, missing or replayed signature, odd timestamps and parameters."""
    now = int(time.time())
    timestamp = draw(st.one_of(st.just(str(now)), st.just(str(now - 3600)), st.just(str(now + 3600)), VALUES))
    nonce = draw(TEXT)
    query: dict[str, str] = draw(st.dictionaries(st.sampled_from(["openid", "echostr", "x", "encrypt_type"]), TEXT))
    query.update(timestamp=timestamp, nonce=nonce)
    signature = draw(st.one_of(HEX40, TEXT, st.none()))
    if signature is None:  # rightly signed, but with a stale or future timestamp
        signature = signature_of(fake.token, timestamp, nonce)
        if timestamp == str(now):
            timestamp = query["timestamp"] = str(now - 3600)
            signature = signature_of(fake.token, timestamp, nonce)
    query["signature"] = signature
    if draw(st.booleans()):
        query.update(encrypt_type="aes", msg_signature=draw(st.one_of(HEX40, TEXT)))
    return query


@pytest.mark.parametrize("aes", [False, True], ids=["plain", "safe"])
async def test_requests_without_our_signature_get_403_and_change_nothing(
    make_hook: MakeHook, caplog: pytest.LogCaptureFixture, aes: bool
) -> None:
    hook = await make_hook(aes=aes)

    async def check(case: tuple[dict[str, str], bytes]) -> None:
        query, body = case
        await hook.post_and_check(body, query)
        asked = {name: value for name, value in query.items() if name != "echostr"}
        status, text = await hook.fake.verify_url("echo-fuzz", **asked)  # the URL check refuses it too
        if query["signature"] != signature_of(hook.fake.token, query["timestamp"], query["nonce"]):
            assert status == 403 and "echo-fuzz" not in text

    await fuzz(st.tuples(unsigned_query(hook.fake), BODIES), check, examples=60)
    assert not errors_logged(caplog)
