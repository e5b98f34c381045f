"""The WeChat wire format through wechatpy: request signatures, safe-mode (AES) envelopes, parsing and replies.

PROTOCOLS.md section 6. Every request carries ``signature = sha1(sorted(token, timestamp, nonce))``; safe mode adds
``encrypt_type=aes`` and ``msg_signature`` over the encrypted body, and replies are encrypted the same way. A body
that is not a WeChat message (malformed XML, a DTD or entity declaration, a missing field) parses to None: the
webhook answers it safely and nothing runs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import ExpatError

from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.events import ClickEvent, SubscribeEvent, SubscribeScanEvent, UnsubscribeEvent
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage, TextMessage, VoiceMessage
from wechatpy.utils import WeChatSigner

MAX_BODY_BYTES = 64 * 1024  # a WeChat message is a few hundred bytes; anything near this is not one
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MAX_CLOCK_SKEW_SECONDS = 300  # a signed request older than this is refused: a leaked signature cannot be replayed
_PARSE_ERRORS = (ExpatError, ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError)


class Refused(Exception):
    """The request is not signed by WeChat with our token (answered 403, nothing runs)."""


@dataclass(frozen=True)
class Inbound:
    """One message or event from a follower, as the channel handles it."""

    openid: str  # FromUserName
    key: str  # dedupe key within the follower: the MsgId, or "e<CreateTime>-<event digest>" for events
    kind: str  # text | voice | subscribe | unsubscribe | click | event (other events) | other (images, ...)
    text: str  # the words: text content, voice recognition, or the menu key of a click
    create_time: int
    message: BaseMessage  # wechatpy's, for rendering the reply


def signature_of(token: str, *parts: str) -> str:
    """Return WeChat's signature: sha1 over the sorted parts and the token."""
    signer = WeChatSigner()
    signer.add_data(token, *parts)
    return str(signer.signature)


class Codec:
    """Checks, opens and answers the requests of one official account."""

    def __init__(self, token: str, aes_key: str = "", appid: str = "", clock: Any = time.time) -> None:
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None
        self.clock = clock

    def check(self, query: Mapping[str, str], *, fresh: bool = True) -> None:
        """Raise Refused unless `query` carries our signature (over a recent timestamp, when `fresh`: a message;
        the URL check only echoes, so an old one is harmless)."""
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        expected = signature_of(self.token, timestamp, nonce)
        if not hmac.compare_digest(expected.encode(), query.get("signature", "").encode()):  # any text: bytes
            raise Refused("bad signature")
        if fresh and (not timestamp.isdigit() or abs(self.clock() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS):
            raise Refused("stale timestamp")

    def open(self, body: bytes, query: Mapping[str, str]) -> Inbound | None:
        """Return the message in a checked request, or None when it is not a WeChat message. Raises Refused when a
        safe-mode body is not signed with our token or not for our app."""
        if len(body) > MAX_BODY_BYTES or _DECLARATION.search(body):
            return None  # WeChat never declares a DTD or entities: an expansion payload is not even parsed
        if query.get("encrypt_type", "raw") != "aes":
            if self.crypto is not None:  # the signature covers no plain body: with a key set, only sealed bodies
                raise Refused("plain message but WECHAT_AES_KEY is set (safe mode)")
            return _parse(body)
        if self.crypto is None:
            raise Refused("safe-mode message but WECHAT_AES_KEY is not set")
        try:
            inner = self.crypto.decrypt_message(
                body, query.get("msg_signature", ""), query.get("timestamp", ""), query.get("nonce", "")
            ).encode()
        except (InvalidSignatureException, InvalidAppIdException) as error:
            raise Refused(type(error).__name__) from error
        except (*_PARSE_ERRORS, IndexError, struct.error):
            return None  # not an envelope, or not decryptable with our key (struct: a plaintext too short to hold
            # the length field wechatpy unpacks)
        return None if _DECLARATION.search(inner) else _parse(inner)

    def reply(self, inbound: Inbound, text: str, query: Mapping[str, str]) -> bytes:
        """Render a text reply to `inbound` (encrypted in safe mode)."""
        xml = str(create_reply(xml_text(text), inbound.message, render=True))
        if query.get("encrypt_type", "raw") == "aes" and self.crypto is not None:
            xml = str(self.crypto.encrypt_message(xml, query.get("nonce", ""), query.get("timestamp") or None))
        return xml.encode()


def xml_text(text: str) -> str:
    """Make text safe inside wechatpy's CDATA sections: split any "]]>" and drop characters XML cannot carry."""
    return _NOT_XML.sub("", text).replace("]]>", "]]]]><![CDATA[>")


def _parse(body: bytes) -> Inbound | None:
    try:
        message = parse_message(body.decode("utf-8"))
    except _PARSE_ERRORS:
        return None
    if message is None:
        return None
    try:  # wechatpy converts a field when it is read: a mistyped one (MsgId "abc") raises only now
        openid, create_time = str(message.source or ""), int(message.time or 0)
        kind, text = _classify(message)
        msg_id = getattr(message, "id", 0) if message.type != "event" else 0
    except _PARSE_ERRORS:
        return None
    if not openid or not openid.isprintable() or len(openid) > 128:
        return None
    key = str(msg_id) if msg_id else _event_key(message, create_time)
    return Inbound(openid=openid, key=key, kind=kind, text=text, create_time=create_time, message=message)


def _event_key(message: BaseMessage, create_time: int) -> str:
    """Events have no MsgId: FromUserName + CreateTime identify them (PROTOCOLS.md), and the event and its key tell
    apart two different events of one follower within the same second (two menu clicks)."""
    data: dict[str, Any] = getattr(message, "_data", None) or {}
    what = f"{data.get('Event', '')}\n{data.get('EventKey', '')}".encode()
    return f"e{create_time}-{hashlib.sha1(what).hexdigest()[:10]}"


def _classify(message: BaseMessage) -> tuple[str, str]:
    if isinstance(message, TextMessage):
        return "text", str(message.content or "")
    if isinstance(message, VoiceMessage):  # WeChat's recognition ends sentences with "。": "帮助。" is a command
        return "voice", str(message.recognition or "").strip().rstrip("。.！!？?")
    if isinstance(message, SubscribeEvent | SubscribeScanEvent):
        return "subscribe", ""
    if isinstance(message, UnsubscribeEvent):
        return "unsubscribe", ""
    if isinstance(message, ClickEvent):
        return "click", str(message.key or "")
    data: dict[str, Any] = getattr(message, "_data", None) or {}
    return ("event" if str(data.get("MsgType", "")).lower() == "event" else "other"), ""
