"""One-time sign-in codes: the WeChat official account's 登录 / login command answers with an 8-digit code that
signs the web browser in where the user types it (the sign-in page's "code from the official account" form).

``login:code:<sha256 of the code>`` -> user id, for 10 minutes; ``{u:ID}:login_code`` names the account's live code,
so a new code replaces the previous one. Using a code is one GETDEL (two browsers typing it at once get one session
between them). Wrong codes count against the client IP like wrong passwords (LOGIN_MAX_FAILS_PER_IP per
LOGIN_FAIL_WINDOW_SECONDS), so the 10^8 codes cannot be walked through.
"""

from __future__ import annotations

import hashlib
import secrets

from core.accounts.users import User, get_user, require_user
from core.errors import AccountBlocked, InvalidCode, TooManyAttempts
from core.settings import Settings
from core.store.connection import Store

LOGIN_CODE_SECONDS = 600
LOGIN_CODE_DIGITS = 8


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def clean_code(raw: str) -> str:
    """Return a typed code without spaces or dashes (users copy "1234 5678")."""
    return "".join(character for character in raw if character not in " -\t\u3000")


async def issue_login_code(store: Store, user_id: int, *, ttl: int = LOGIN_CODE_SECONDS) -> str:
    """Return a fresh one-time sign-in code for `user_id`; the account's previous code stops working."""
    await require_user(store, user_id)
    previous = await store.redis.getdel(store.keys.user_login_code(user_id))
    if previous:
        await store.redis.delete(store.keys.login_code(str(previous)))
    for _ in range(20):
        code = "".join(secrets.choice("0123456789") for _ in range(LOGIN_CODE_DIGITS))
        if await store.redis.set(store.keys.login_code(_digest(code)), user_id, nx=True, ex=ttl):
            await store.redis.set(store.keys.user_login_code(user_id), _digest(code), ex=ttl)
            return code
    raise RuntimeError("could not find a free sign-in code")


async def consume_login_code(store: Store, settings: Settings, raw: str, *, ip: str) -> User:
    """Use up a sign-in code and return its account. Raises InvalidCode (wrong, used or expired), AccountBlocked, or
    TooManyAttempts when this IP has guessed too often."""
    fails = store.keys.login_fails_ip(ip)
    window, limit = settings.LOGIN_FAIL_WINDOW_SECONDS, settings.LOGIN_MAX_FAILS_PER_IP
    counted, value = await store.scripts.run("take_attempt", [fails], [window, limit])
    if not counted:
        raise TooManyAttempts(retry_after=max(1, int(value)))
    code = clean_code(raw)
    if len(code) != LOGIN_CODE_DIGITS or not code.isdigit():
        raise InvalidCode(field="code")
    user_id = await store.redis.getdel(store.keys.login_code(_digest(code)))
    if user_id is None:
        raise InvalidCode(field="code")
    await store.scripts.run("return_attempt", [fails])  # a right code is no failed attempt
    await store.redis.delete(store.keys.user_login_code(int(user_id)))
    user = await get_user(store, str(user_id))
    if user is None:
        raise InvalidCode(field="code")
    if user.blocked:
        raise AccountBlocked()
    return user
