"""Sign-in throttling: failed attempts per account and per client IP, counted in a fixed window.

An attempt is counted atomically *before* the password or code is checked, so parallel guesses cannot slip past
the limit between a check and a write; a successful sign-in then clears the account counter and gives the IP
back its attempt. Unknown accounts are counted like real ones, so the limit reveals nothing.
"""

from __future__ import annotations

from core.errors import TooManyAttempts
from core.settings import Settings
from core.store.connection import Store


async def _take(store: Store, key: str, window: int, limit: int) -> None:
    counted, value = await store.scripts.run("take_attempt", [key], [window, limit])
    if not counted:
        raise TooManyAttempts(retry_after=max(1, int(value)))


async def begin_attempt(store: Store, settings: Settings, account: str, ip: str) -> None:
    """Count a sign-in attempt for `account` (normalized email/phone) and `ip`, or raise TooManyAttempts."""
    keys = store.keys
    window = settings.LOGIN_FAIL_WINDOW_SECONDS
    await _take(store, keys.login_fails_account(account), window, settings.LOGIN_MAX_FAILS_PER_ACCOUNT)
    try:
        await _take(store, keys.login_fails_ip(ip), window, settings.LOGIN_MAX_FAILS_PER_IP)
    except TooManyAttempts:
        # Refused before any check: the account's attempt was not a failure of its owner's password.
        await store.scripts.run("return_attempt", [keys.login_fails_account(account)])
        raise


async def attempt_succeeded(store: Store, account: str, ip: str) -> None:
    """Clear the account's failures and give the IP back the attempt counted for this sign-in."""
    await store.redis.delete(store.keys.login_fails_account(account))
    await store.scripts.run("return_attempt", [store.keys.login_fails_ip(ip)])


async def clear_account_failures(store: Store, account: str) -> None:
    """Forget an account's failures (after a password reset by code)."""
    await store.redis.delete(store.keys.login_fails_account(account))
