"""Sign-in throttling: a progressive delay per account instead of a lock, the IP limit, code sign-in stays open."""

from __future__ import annotations

import httpx
import pytest

from core.accounts.registration import register_user
from core.accounts.signin import authenticate_code, authenticate_password
from core.accounts.verification import send_code
from core.errors import InvalidCredentials, TooManyAttempts
from core.notify import Notifier
from core.settings import Settings
from core.store.connection import Store
from tests.fakes.smtp import SmtpFake
from tests.webui.conftest import FAST_HASHING

EMAIL = "alice@example.com"
PASSWORD = "correct horse battery"
T0 = 1_700_000_000.0


@pytest.fixture
def strict(settings: Settings) -> Settings:
    return settings.model_copy(update={**FAST_HASHING, "LOGIN_MAX_FAILS_PER_ACCOUNT": 3})


async def _fail(store: Store, settings: Settings, now: float, ip: str = "203.0.113.1") -> None:
    with pytest.raises(InvalidCredentials):
        await authenticate_password(store, settings, EMAIL, "wrong password", ip=ip, now=now)


async def test_past_the_free_failures_each_attempt_waits_twice_as_long(store: Store, strict: Settings) -> None:
    await register_user(store, strict, None, email=EMAIL, password=PASSWORD, now=T0)
    for offset in range(3):
        await _fail(store, strict, T0 + offset)
    delays = []
    now = T0 + 2
    for _ in range(4):
        with pytest.raises(TooManyAttempts) as early:
            await authenticate_password(store, strict, EMAIL, PASSWORD, ip="198.51.100.1", now=now)
        delays.append(early.value.data["retry_after"])
        now += delays[-1]
        await _fail(store, strict, now)  # allowed again after the wait (still a wrong guess)
    assert delays == [1, 2, 4, 8]
    with pytest.raises(TooManyAttempts):
        await authenticate_password(store, strict, EMAIL, PASSWORD, ip="198.51.100.1", now=now + 1)
    user = await authenticate_password(store, strict, EMAIL, PASSWORD, ip="198.51.100.1", now=now + 16)
    assert user.email == EMAIL  # never locked: the owner is at most a short wait away
    assert not await store.redis.exists(store.keys.login_fails_account(EMAIL))


async def test_the_delay_never_exceeds_the_window(store: Store, strict: Settings) -> None:
    await register_user(store, strict, None, email=EMAIL, password=PASSWORD, now=T0)
    await store.redis.hset(store.keys.login_fails_account(EMAIL), mapping={"n": 40, "last": int(T0 * 1000)})
    with pytest.raises(TooManyAttempts) as early:
        await authenticate_password(store, strict, EMAIL, PASSWORD, ip="198.51.100.1", now=T0)
    assert early.value.data["retry_after"] == strict.LOGIN_FAIL_WINDOW_SECONDS


async def test_code_sign_in_stays_open_while_passwords_are_delayed(store: Store, strict: Settings) -> None:
    async with SmtpFake() as smtp, httpx.AsyncClient() as http:
        mailed = strict.model_copy(update=smtp.settings_update())
        await register_user(store, mailed, None, email=EMAIL, password=PASSWORD, now=T0)
        for offset in range(3):
            await _fail(store, mailed, T0 + offset)
        with pytest.raises(TooManyAttempts):  # the password waits...
            await authenticate_password(store, mailed, EMAIL, PASSWORD, ip="198.51.100.1", now=T0 + 2)
        await send_code(store, mailed, Notifier(mailed, http), EMAIL, "login", ip="198.51.100.1", now=T0 + 2)
        user = await authenticate_code(store, mailed, EMAIL, smtp.code_for(EMAIL), ip="198.51.100.1", now=T0 + 2)
        assert user.email == EMAIL  # ...the owner's code does not
