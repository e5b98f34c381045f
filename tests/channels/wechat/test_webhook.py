"""The webhook: URL verification, signatures, plain and safe mode, and bodies that are not WeChat messages."""

from __future__ import annotations

import pytest
import xmltodict

from channels.wechat.codec import Codec, Refused, signature_of
from core.accounts.channel_identities import account_of
from tests.channels.wechat.conftest import WorldFactory
from tests.fakes.openai_upstream import FakeUpstream, text_of

VECTOR = {"token": "testtoken", "timestamp": "1409304348", "nonce": "xxxxxx"}
VECTOR_SIGNATURE = "30d7c91db269b3e0cb3e1a131646b6d1ae4750f5"


def test_signature_matches_the_protocol_vector() -> None:
    assert signature_of(VECTOR["token"], VECTOR["timestamp"], VECTOR["nonce"]) == VECTOR_SIGNATURE
    codec = Codec("testtoken")
    query = {"signature": VECTOR_SIGNATURE, "timestamp": "1409304348", "nonce": "xxxxxx"}
    codec.check(query, fresh=False)
    with pytest.raises(Refused):
        codec.check({**query, "signature": "0" * 40}, fresh=False)
    with pytest.raises(Refused):
        codec.check(query)  # a message signed in 2014 is a replay


async def test_url_verification_echoes_with_the_vector_and_refuses_bad_signatures(wechat_world: WorldFactory) -> None:
    world = await wechat_world(token="testtoken")
    target = world.fake.targets[0]
    vector = {"signature": VECTOR_SIGNATURE, "timestamp": "1409304348", "nonce": "xxxxxx"}
    assert await world.fake.verify_url("echo-123", target, **vector) == (200, "echo-123")
    status, body = await world.fake.verify_url("echo-123", target, **{**vector, "signature": "f" * 40})
    assert status == 403 and "echo-123" not in body


async def test_a_text_gets_the_answer_in_plain_mode(wechat_world: WorldFactory, upstream: FakeUpstream) -> None:
    world = await wechat_world()
    exchange = await world.fake.send_text("o-alice", "hello")
    assert exchange.reply == text_of(8).strip() and len(exchange.tries) == 1
    assert len(upstream.chat_requests) == 1
    user = await account_of(world.store, "wechat", "o-alice")
    assert user is not None and not user.email  # a channel-only account, on the free plan


async def test_safe_mode_decrypts_and_answers_encrypted(wechat_world: WorldFactory, upstream: FakeUpstream) -> None:
    world = await wechat_world(aes=True)
    exchange = await world.fake.send_text("o-alice", "hello")
    assert exchange.reply == text_of(8).strip()  # the fake checked the reply's signature and decrypted it
    assert exchange.reply_xml is not None and exchange.reply_xml["ToUserName"] == "o-alice"
    raw = exchange.tries[-1].body
    assert b"<Encrypt>" in raw and b"hello" not in raw and b"word" not in raw


async def test_a_bad_signature_gets_403_and_nothing_runs(wechat_world: WorldFactory, upstream: FakeUpstream) -> None:
    world = await wechat_world()
    fake = world.fake
    body = fake.message_xml("o-mallory", "text", {"Content": "hello"}).encode()
    forged = {**fake.signed_query("o-mallory"), "signature": "0" * 40}
    unsigned = {"timestamp": forged["timestamp"], "nonce": forged["nonce"]}
    stale = fake.signed_query("o-mallory")
    stale.update(timestamp="1409304348", signature=signature_of(fake.token, "1409304348", stale["nonce"]))
    for query in (forged, unsigned, stale):
        attempt = await fake.post(body, query)
        assert attempt.status == 403
    assert await account_of(world.store, "wechat", "o-mallory") is None
    assert not upstream.requests
    assert not [key async for key in world.store.redis.scan_iter(match="*wx*")]


async def test_safe_mode_refuses_a_body_signed_with_another_token(wechat_world: WorldFactory) -> None:
    world = await wechat_world(aes=True)
    fake = world.fake
    plain = fake.message_xml("o-mallory", "text", {"Content": "hello"}).encode()
    assert (await fake.post(plain, fake.signed_query("o-mallory"))).status == 403  # only sealed bodies in safe mode
    encrypted = fake.envelope(fake.message_xml("o-mallory", "text", {"Content": "hello"}))
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
    query = fake.signed_query("o-mallory", encrypted)
    query["msg_signature"] = signature_of("another-token", query["timestamp"], query["nonce"], encrypted)
    assert (await fake.post(body, query)).status == 403
    assert await account_of(world.store, "wechat", "o-mallory") is None


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><xml><ToUserName>gh</ToUserName>'
    "<FromUserName>o-bomb</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
    "<Content>&lol3;</Content><MsgId>1</MsgId></xml>"
)


@pytest.mark.parametrize(
    "body",
    ["<xml><ToUserName>gh</ToUserName><FromUser", "not xml at all", "<xml>just text</xml>",
     "<xml><FromUserName>o-bomb</FromUserName></xml>", BOMB, "<xml>" + "<a>" * 5000 + "</xml>", ""],
    ids=["truncated", "not-xml", "no-fields", "no-type", "entity-expansion", "deep-nesting", "empty"],
)  # fmt: skip
async def test_bodies_that_are_not_messages_get_a_safe_answer(
    wechat_world: WorldFactory, upstream: FakeUpstream, body: str
) -> None:
    world = await wechat_world()
    attempt = await world.fake.post(body.encode(), world.fake.signed_query("o-bomb"))
    assert attempt.status == 200 and attempt.body == b"success"
    assert not upstream.requests
    assert await account_of(world.store, "wechat", "o-bomb") is None
    exchange = await world.fake.send_text("o-alice", "still alive?")  # and the process still serves
    assert exchange.reply


async def test_an_entity_payload_in_safe_mode_is_not_parsed(wechat_world: WorldFactory) -> None:
    world = await wechat_world(aes=True)
    encrypted = world.fake.envelope(BOMB)
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
    attempt = await world.fake.post(body, world.fake.signed_query("o-bomb", encrypted))
    assert attempt.status == 200 and attempt.body == b"success"
    assert await account_of(world.store, "wechat", "o-bomb") is None


async def test_images_and_unknown_types_get_a_polite_text_only_answer(
    wechat_world: WorldFactory, upstream: FakeUpstream
) -> None:
    world = await wechat_world()
    image = await world.fake.send_image("o-alice")
    assert image.reply == "目前只支持文字和语音消息，请发送文字。"
    unknown = await world.fake.deliver(world.fake.message_xml("o-alice", "hologram", {"Beam": "1"}), "o-alice")
    assert unknown.reply == image.reply
    view = await world.fake.send_event("o-alice", "VIEW", "https://example.com")
    assert view.reply is None  # events that need no answer get `success`
    assert not upstream.requests


def test_replies_survive_cdata_ends_and_control_characters() -> None:
    codec = Codec("token")
    xml = "<xml><FromUserName>o-a</FromUserName><ToUserName>gh</ToUserName><CreateTime>1</CreateTime>"
    inbound = codec.open(f"{xml}<MsgType>text</MsgType><Content>x</Content><MsgId>7</MsgId></xml>".encode(), {})
    assert inbound is not None
    rendered = codec.reply(inbound, "a]]>b\x00c\x1bd <tag> & done", {})
    assert xmltodict.parse(rendered)["xml"]["Content"] == "a]]>bcd <tag> & done"
