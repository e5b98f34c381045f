"""One-time sign-in links: a bot hands its user a link that opens a web page already signed in (the /plan and
/login commands), valid for 10 minutes and good for one use.

``login:link:<sha256 of the token>`` -> ``{"user_id", "next"}`` with a TTL: only the digest is stored, so a reader of
the store cannot sign in with it. Consuming is one GETDEL: two browsers opening the same link at once get one
session between them. The web app serves the link (webui.login_link): a page that posts the token back, so a chat
app's link preview (which fetches the URL but runs no script) does not use it up.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import orjson

from core.accounts.users import User, get_user
from core.settings import Settings
from core.store.connection import Store

LOGIN_LINK_SECONDS = 600
LOGIN_LINK_PATH = "/auth/link/"
TOKEN_BYTES = 24
TOKEN_MAX_CHARS = 64


@dataclass(frozen=True)
class LoginLink:
    user: User
    next_path: str  # where the browser goes once signed in (the web app still checks it is a local path)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_login_link(
    store: Store, settings: Settings, user_id: int, next_path: str = "/", *, ttl: int = LOGIN_LINK_SECONDS
) -> str:
    """Return the URL of a fresh one-time sign-in link for `user_id` that lands on `next_path`.

    A link handed out in a chat must be absolute: it needs DOMAIN (a bot has no request to take the host from, and
    a host taken from some request could be forged); callers check `settings.DOMAIN` first.
    """
    if not settings.DOMAIN:
        raise ValueError("DOMAIN is unset: a sign-in link needs the site's public address")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    record = orjson.dumps({"user_id": int(user_id), "next": next_path if next_path.startswith("/") else "/"})
    await store.redis.set(store.keys.login_link(_digest(token)), record, ex=ttl)
    return f"{settings.DOMAIN}{LOGIN_LINK_PATH}{token}"


async def consume_login_link(store: Store, token: str) -> LoginLink | None:
    """Use up a sign-in link; return its account and next path, or None (unknown, used, expired, blocked)."""
    if not token or len(token) > TOKEN_MAX_CHARS:
        return None
    raw = await store.redis.getdel(store.keys.login_link(_digest(token)))
    if raw is None:
        return None
    record = orjson.loads(raw)
    user = await get_user(store, int(record["user_id"]))
    if user is None or user.blocked:
        return None
    return LoginLink(user=user, next_path=str(record.get("next") or "/"))
