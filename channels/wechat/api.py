"""The WeChat API calls service mode makes: the shared access token and customer-service text messages.

PROTOCOLS.md section 6. A new access_token invalidates the old one after a short overlap, so every process uses ONE
token kept in the store (``tok:wechat``, dropped a margin before it expires) and only one process at a time fetches
a new one, under the store lease ``lock:wechat-token``; the others wait for it to appear. When the API says the token
is invalid or expired, it is dropped only if it is still the stored one (another process may have replaced it), and
the call is made once more. Calls go through httpx with WECHAT_API_BASE (wechatpy's client is synchronous and fixes
the host). Tokens and the secret never reach a log: httpx's request lines are masked.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import httpx
import orjson

from core.settings import Settings
from core.store.connection import Store
from core.store.lease import holding

TOKEN_PATH = "/cgi-bin/token"
CUSTOM_SEND_PATH = "/cgi-bin/message/custom/send"
TOKEN_LEASE = "wechat-token"
TOKEN_MARGIN_SECONDS = 300  # refresh this long before WeChat's expiry (its overlap window is about 5 minutes)
TOKEN_WAIT_SECONDS = 15.0  # how long a process waits for another one's refresh
STALE_TOKEN_CODES = frozenset({40001, 40014, 42001})  # invalid credential, invalid access_token, access_token expired
OUT_OF_WINDOW = 45015  # no user message in the last 48 hours (or the user unfollowed)
OUT_OF_SENDS = 45047  # the sends a user message allows are used up
_SECRETS_IN_URL = re.compile(r"((?:access_token|secret)=)[^&\s\"']+")

log = logging.getLogger(__name__)


class WeChatApiError(Exception):
    """The WeChat API refused a call: `errcode` and `errmsg` as it answered (or -1 when it did not answer)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class _MaskSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRETS_IN_URL.sub(r"\1***", str(arg)) if isinstance(arg, str | httpx.URL) else arg
                for arg in record.args
            )
        return True


def _mask_http_logs() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(existing, _MaskSecrets) for existing in logger.filters):
        logger.addFilter(_MaskSecrets())


class WeChatApi:
    """Access token and customer-service messages of one official account, shared by every process."""

    def __init__(self, settings: Settings, store: Store, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.store = store
        self.http = http
        self.base = settings.WECHAT_API_BASE.rstrip("/")
        _mask_http_logs()

    async def access_token(self) -> str:
        """Return the shared token, fetching a new one (in one process at a time) when there is none."""
        key = self.store.keys.wechat_token()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TOKEN_WAIT_SECONDS
        while True:
            token = await self.store.redis.get(key)
            if token:
                return str(token)
            async with holding(self.store, TOKEN_LEASE, ttl=TOKEN_WAIT_SECONDS) as held:
                if held:
                    return await self._refresh(key)
            if loop.time() > deadline:
                raise WeChatApiError(-1, "timed out waiting for another process to fetch the access token")
            await asyncio.sleep(0.05)

    async def _refresh(self, key: str) -> str:
        current = await self.store.redis.get(key)  # fetched by another process while we took the lease
        if current:
            return str(current)
        params = {
            "grant_type": "client_credential",
            "appid": self.settings.WECHAT_APPID,
            "secret": self.settings.WECHAT_APPSECRET.get_secret_value(),
        }
        data = await self._call("GET", TOKEN_PATH, params=params)
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise WeChatApiError(int(data.get("errcode") or -1), str(data.get("errmsg") or "no access_token"))
        expires_in = int(data.get("expires_in") or 7200)
        await self.store.redis.set(key, token, ex=max(60, expires_in - TOKEN_MARGIN_SECONDS))
        log.info("fetched a new WeChat access token (valid %s s)", expires_in)
        return token

    async def send_text(self, openid: str, content: str) -> None:
        """Send one customer-service text message (at most 2048 bytes); raise WeChatApiError when refused."""
        body = orjson.dumps({"touser": openid, "msgtype": "text", "text": {"content": content}})
        for attempt in range(2):
            token = await self.access_token()
            data = await self._call("POST", CUSTOM_SEND_PATH, params={"access_token": token}, content=body)
            errcode = int(data.get("errcode") or 0)
            if errcode == 0:
                return
            if errcode in STALE_TOKEN_CODES and attempt == 0:
                await self.store.scripts.run("wechat_drop_token", [self.store.keys.wechat_token()], [token])
                continue
            raise WeChatApiError(errcode, str(data.get("errmsg") or ""))

    async def check(self) -> list[str]:
        """Say what is wrong with the API settings (for `chatgate doctor`): fetch (or reuse) the shared token."""
        try:
            await self.access_token()
        except WeChatApiError as error:
            return [f"wechat: the access token could not be fetched: {error}"]
        return []

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {"Content-Type": "application/json; charset=utf-8"} if "content" in kwargs else None
        try:
            response = await self.http.request(method, self.base + path, headers=headers, **kwargs)
            data = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise WeChatApiError(-1, f"{path}: {type(error).__name__}") from None
        if not isinstance(data, dict):
            raise WeChatApiError(-1, f"{path}: the answer is not a JSON object")
        return data
