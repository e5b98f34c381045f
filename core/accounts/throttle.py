"""Sign-in throttling: failed attempts per account (a progressive delay) and per client IP (a fixed window).

An attempt is counted atomically *before* the password or code is checked, so parallel guesses cannot slip past
the limit between a check and a write; a successful sign-in then clears the account counter and gives the IP
back its attempt. Unknown accounts are counted like real ones, so the limit reveals nothing.
An account is never locked: past LOGIN_MAX_FAILS_PER_ACCOUNT failures each further password attempt waits twice as
long as the one before (up to LOGIN_FAIL_WINDOW_SECONDS), which stops guessing but not the owner, who can also
sign in by code at any time (codes have their own limits: tries per code, resend cooldown, daily caps). An IP past
LOGIN_MAX_FAILS_PER_IP failures in the window is refused until the window ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from core.errors import AlreadyRegistered, TooManyAttempts
from core.settings import Settings
from core.store.connection import Store


async def _take(store: Store, key: str, window: int, limit: int) -> None:
    counted, value = await store.scripts.run("take_attempt", [key], [window, limit])
    if not counted:
        raise TooManyAttempts(retry_after=max(1, int(value)))


async def _take_account(store: Store, settings: Settings, account: str, now: float) -> None:
    window = settings.LOGIN_FAIL_WINDOW_SECONDS
    args = [int(now * 1000), window, settings.LOGIN_MAX_FAILS_PER_ACCOUNT, window]
    counted, value = await store.scripts.run("take_account_attempt", [store.keys.login_fails_account(account)], args)
    if not counted:
        raise TooManyAttempts(retry_after=max(1, int(value)))


async def begin_attempt(store: Store, settings: Settings, account: str, ip: str, now: float) -> None:
    """Count a password attempt for `account` (normalized email/phone) and `ip`, or raise TooManyAttempts."""
    await _take_account(store, settings, account, now)
    try:
        await begin_ip_attempt(store, settings, ip)
    except TooManyAttempts:
        # Refused before any check: the account's attempt was not a failure of its owner's password.
        await _return_account_attempt(store, account)
        raise


async def begin_ip_attempt(store: Store, settings: Settings, ip: str) -> None:
    """Count an attempt from `ip` only (sign-in by code, which must stay open to an account's owner)."""
    window = settings.LOGIN_FAIL_WINDOW_SECONDS
    await _take(store, store.keys.login_fails_ip(ip), window, settings.LOGIN_MAX_FAILS_PER_IP)


@contextlib.asynccontextmanager
async def probes(store: Store, settings: Settings, ip: str) -> AsyncIterator[None]:
    """Throttle a block whose AlreadyRegistered answer (registering's 409) tells whether an address has an account:
    an IP at LOGIN_MAX_FAILS_PER_IP is refused before the lookup, and each such answer counts as a failed attempt
    (atomically; past the limit it becomes TooManyAttempts). Bad input and successes count nothing."""
    key = store.keys.login_fails_ip(ip)
    limit = settings.LOGIN_MAX_FAILS_PER_IP
    if int(await store.redis.get(key) or 0) >= limit:
        raise TooManyAttempts(retry_after=max(1, int(await store.redis.ttl(key))))
    try:
        yield
    except AlreadyRegistered:
        await _take(store, key, settings.LOGIN_FAIL_WINDOW_SECONDS, limit)
        raise


async def _return_account_attempt(store: Store, account: str) -> None:
    key = store.keys.login_fails_account(account)
    if await store.redis.hincrby(key, "n", -1) <= 0:
        await store.redis.delete(key)


async def attempt_succeeded(store: Store, account: str, ip: str) -> None:
    """Clear the account's failures and give the IP back the attempt counted for this sign-in."""
    await store.redis.delete(store.keys.login_fails_account(account))
    await store.scripts.run("return_attempt", [store.keys.login_fails_ip(ip)])


async def clear_account_failures(store: Store, account: str) -> None:
    """Forget an account's failures (after a password reset by code)."""
    await store.redis.delete(store.keys.login_fails_account(account))
