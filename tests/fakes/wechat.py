"""A loopback WeChat platform (PROTOCOLS.md section 6): it delivers followers' messages to the webhook and serves the
API an official account calls.

Delivering: `await fake.send_text(openid, "hi")` builds the XML WeChat sends (MsgId, CreateTime), signs the URL
(`signature`, `timestamp`, `nonce`, `openid`), wraps the body in the safe-mode envelope when `aes` is on
(`encrypt_type=aes`, `msg_signature`), and POSTs it with WeChat's real timing: it waits `timeout` seconds (5) for the
answer, then tries again, `tries` (3) requests in all; a timeout, a refused connection or a non-200 answer is a
failed try. Tries go round `fake.targets` (several app processes). The reply is checked the way WeChat checks it
(a safe-mode reply must be signed and encrypted for this account; ToUserName must be the follower; text at most 2048
bytes) and returned as an `Exchange` (every try, the reply text or None for `success` / an empty body).

API: `GET /cgi-bin/token` (client_credential; a new token leaves the previous one valid for `overlap` seconds) and
`POST /cgi-bin/message/custom/send` with WeChat's JSON errors (40001/42001 bad or expired token, 45015 no user
message in 48 h or unfollowed, 45047 allowance used up: 5 messages per user message, 3 per menu click or subscribe,
45002 text over 2048 bytes, 40003 unknown openid, 40008 not a text message, 47001 malformed JSON). Pushed texts are
kept in order per follower in `fake.pushed`.
"""

from __future__ import annotations

import asyncio
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import xmltodict
from aiohttp import web
from pydantic import SecretStr
from wechatpy.crypto import PrpCrypto, WeChatCrypto

from channels.wechat.codec import signature_of
from tests.fakes._loopback import LoopbackApp

MAX_TEXT_BYTES = 2048
USER_MESSAGE_SENDS, USER_MESSAGE_WINDOW = 5, 48 * 3600
EVENT_SENDS, EVENT_WINDOW = 3, 60


@dataclass
class Try:
    target: str
    status: int | None  # None: timed out or the connection failed
    elapsed: float
    body: bytes = b""


@dataclass
class Exchange:
    """One message as WeChat delivered it: every try, and the reply the follower saw (None: no reply)."""

    tries: list[Try] = field(default_factory=list)
    reply: str | None = None
    reply_xml: dict[str, Any] | None = None


class FakeWeChat(LoopbackApp):
    def __init__(
        self,
        *,
        token: str = "fake-wechat-token",
        appid: str = "wx1234567890abcdef",
        secret: str = "fake-wechat-app-secret-0123456789",
        aes: bool = False,
        account: str = "gh_fake_account",
        timeout: float = 5.0,
        tries: int = 3,
        expires_in: int = 7200,
        overlap: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.token, self.appid, self.secret, self.account = token, appid, secret, account
        self.aes_key = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(43))
        self.aes = aes
        self.timeout, self.tries = timeout, tries
        self.expires_in, self.overlap, self.clock = expires_in, overlap, clock
        self.targets: list[str] = []  # webhook URLs; tries go round them
        self.exchanges: list[Exchange] = []
        self.pushed: dict[str, list[str]] = {}
        self.api_errors: list[dict[str, Any]] = []
        self.token_requests = 0
        self.tokens: dict[str, float] = {}  # access token -> expiry
        self.allowance: dict[str, tuple[int, float]] = {}  # openid -> (sends left, until)
        self.unfollowed: set[str] = set()
        self._next_msg_id = 24_000_000_000_000_000
        self._turn = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/cgi-bin/token", self._token), web.post("/cgi-bin/message/custom/send", self._custom_send)]

    def settings_update(self) -> dict[str, Any]:
        update: dict[str, Any] = {
            "WECHAT_TOKEN": SecretStr(self.token), "WECHAT_APPID": self.appid,
            "WECHAT_APPSECRET": SecretStr(self.secret), "WECHAT_API_BASE": self.url,
            "WECHAT_TIMEOUT_SECONDS": self.timeout,
        }  # fmt: skip
        if self.aes:
            update["WECHAT_AES_KEY"] = SecretStr(self.aes_key)
        return update

    # --- followers' messages ------------------------------------------------------------------------------------
    def message_xml(self, openid: str, msg_type: str, fields: dict[str, Any], *, event: bool = False) -> str:
        """Return the XML WeChat would post for a message (with a fresh MsgId) or an event."""
        body: dict[str, Any] = {
            "ToUserName": self.account, "FromUserName": openid, "CreateTime": int(self.clock()), "MsgType": msg_type,
            **fields,
        }  # fmt: skip
        if not event:
            self._next_msg_id += 1
            body["MsgId"] = self._next_msg_id
        return str(xmltodict.unparse({"xml": body}, full_document=False))

    async def send_text(self, openid: str, content: str) -> Exchange:
        self._grant(openid, USER_MESSAGE_SENDS, USER_MESSAGE_WINDOW)
        return await self.deliver(self.message_xml(openid, "text", {"Content": content}), openid)

    async def send_voice(self, openid: str, recognition: str) -> Exchange:
        self._grant(openid, USER_MESSAGE_SENDS, USER_MESSAGE_WINDOW)
        fields = {"MediaId": "media-" + secrets.token_hex(4), "Format": "amr", "Recognition": recognition}
        return await self.deliver(self.message_xml(openid, "voice", fields), openid)

    async def send_image(self, openid: str) -> Exchange:
        self._grant(openid, USER_MESSAGE_SENDS, USER_MESSAGE_WINDOW)
        fields = {"PicUrl": "http://mmbiz.example/pic.jpg", "MediaId": "media-" + secrets.token_hex(4)}
        return await self.deliver(self.message_xml(openid, "image", fields), openid)

    async def send_event(self, openid: str, event: str, key: str = "") -> Exchange:
        """Deliver an event: subscribe, unsubscribe, CLICK (with its menu key), VIEW, ..."""
        if event in ("subscribe", "CLICK"):
            self._grant(openid, EVENT_SENDS, EVENT_WINDOW)
            self.unfollowed.discard(openid)
        if event == "unsubscribe":
            self.unfollowed.add(openid)
        fields = {"Event": event, **({"EventKey": key} if key else {})}
        return await self.deliver(self.message_xml(openid, "event", fields, event=True), openid)

    def signed_query(self, openid: str = "", encrypted: str = "") -> dict[str, str]:
        timestamp, nonce = str(int(self.clock())), secrets.token_hex(5)
        query = {"signature": signature_of(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
        if openid:
            query["openid"] = openid
        if encrypted:
            query.update(encrypt_type="aes", msg_signature=signature_of(self.token, timestamp, nonce, encrypted))
        return query

    def envelope(self, xml: str) -> str:
        """Return the Encrypt value of `xml` in the safe-mode envelope (AES with this account's key and appid)."""
        encrypted: bytes = PrpCrypto(self._crypto().key).encrypt(xml, self.appid)
        return encrypted.decode()

    async def deliver(self, xml: str, openid: str) -> Exchange:
        """Post a message body with WeChat's timing and tries; return what happened."""
        exchange = Exchange()
        encrypted = self.envelope(xml) if self.aes else ""
        envelope = f"<ToUserName><![CDATA[{self.account}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        payload = (f"<xml>{envelope}</xml>" if self.aes else xml).encode()
        for _ in range(self.tries):
            query = self.signed_query(openid, encrypted)
            attempt = await self.post(payload, query)
            exchange.tries.append(attempt)
            if attempt.status == 200:
                self._read_reply(exchange, attempt.body, openid)
                break
        self.exchanges.append(exchange)
        return exchange

    async def post(self, payload: bytes, query: dict[str, str], target: str | None = None) -> Try:
        """One try: POST to the next target and wait `timeout` seconds at most."""
        if target is None:
            target = self.targets[self._turn % len(self.targets)]
            self._turn += 1
        started = time.monotonic()
        try:  # asyncio's timeout is exact; aiohttp's rounds timeouts of 5 s and more up to whole seconds
            async with asyncio.timeout(self.timeout), aiohttp.ClientSession() as session:
                headers = {"Content-Type": "text/xml", "User-Agent": "Mozilla/4.0"}
                async with session.post(target, params=query, data=payload, headers=headers) as response:
                    return Try(target, response.status, time.monotonic() - started, await response.read())
        except (TimeoutError, aiohttp.ClientError):
            return Try(target, None, time.monotonic() - started)

    async def verify_url(self, echostr: str, target: str | None = None, **query: str) -> tuple[int, str]:
        """WeChat's server-URL check (GET with signature, timestamp, nonce, echostr)."""
        params = {**self.signed_query(), "echostr": echostr, **query}
        url = target or self.targets[0]
        async with aiohttp.ClientSession() as session, session.get(url, params=params) as response:
            return response.status, await response.text()

    def _read_reply(self, exchange: Exchange, body: bytes, openid: str) -> None:
        text = body.decode("utf-8").strip()
        if text in ("", "success"):
            return
        reply = xmltodict.parse(text)["xml"]
        if self.aes:
            crypto = self._crypto()
            inner = crypto.decrypt_message(text, reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"])
            reply = xmltodict.parse(inner)["xml"]
        assert reply["ToUserName"] == openid, reply
        assert reply["FromUserName"] == self.account, reply
        assert reply["MsgType"] == "text", reply
        content = reply.get("Content") or ""
        assert len(content.encode("utf-8")) <= MAX_TEXT_BYTES, f"WeChat refuses a {len(content.encode())}-byte reply"
        exchange.reply, exchange.reply_xml = content, reply

    def _crypto(self) -> WeChatCrypto:
        return WeChatCrypto(self.token, self.aes_key, self.appid)

    def _grant(self, openid: str, sends: int, window: float) -> None:
        """An interaction renews the customer-service allowance (it does not add up: the larger one counts)."""
        now = self.clock()
        left, until = self.allowance.get(openid, (0, 0.0))
        left = left if until > now else 0
        self.allowance[openid] = (max(left, sends), max(until, now + window))

    # --- the API ------------------------------------------------------------------------------------------------
    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        query = request.query
        if query.get("grant_type") != "client_credential":
            return self._error(40002, "invalid grant_type")
        if query.get("appid") != self.appid:
            return self._error(40013, "invalid appid")
        if query.get("secret") != self.secret:
            return self._error(40125, "invalid appsecret")
        now = self.clock()
        self.tokens = {token: min(expiry, now + self.overlap) for token, expiry in self.tokens.items()}
        token = secrets.token_urlsafe(96)
        self.tokens[token] = now + self.expires_in
        return web.json_response({"access_token": token, "expires_in": self.expires_in})

    def expire_tokens(self) -> None:
        """Make every issued token expired, as when WeChat ends them early."""
        self.tokens = dict.fromkeys(self.tokens, 0.0)

    async def _custom_send(self, request: web.Request) -> web.Response:
        refused = self._check_token(request.query.get("access_token", ""))
        if refused is not None:
            return refused
        try:
            body = orjson.loads(await request.read())
            openid, msg_type = str(body["touser"]), str(body["msgtype"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return self._error(47001, "data format error")
        if msg_type != "text":
            return self._error(40008, "invalid message type")
        content = str((body.get("text") or {}).get("content", ""))
        if len(content.encode("utf-8")) > MAX_TEXT_BYTES:
            return self._error(45002, "content size out of limit")
        if openid in self.unfollowed:
            return self._error(43004, "require subscribe")
        if openid not in self.allowance:
            return self._error(40003, "invalid openid")
        left, until = self.allowance[openid]
        if until <= self.clock():
            return self._error(45015, "response out of time limit or subscription is canceled")
        if left <= 0:
            return self._error(45047, "out of response count limit")
        self.allowance[openid] = (left - 1, until)
        self.pushed.setdefault(openid, []).append(content)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def _error(self, code: int, message: str) -> web.Response:
        rid = f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"
        answer = {"errcode": code, "errmsg": f"{message} rid: {rid}"}
        self.api_errors.append(answer)
        return web.json_response(answer)

    def _check_token(self, token: str) -> web.Response | None:
        if not token:
            return self._error(41001, "access_token missing")
        expiry = self.tokens.get(token)
        if expiry is None:
            return self._error(40001, "invalid credential, access_token is invalid or not latest")
        if expiry <= self.clock():
            return self._error(42001, "access_token expired")
        return None


async def wait_for(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Poll `check` until it is true or `seconds` pass (for pushes that come after the webhook answered)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True
