"""One-time sign-in codes (the WeChat account's 登录): one use even under a race, a new code replaces the old one,
wrong guesses are throttled per IP, never for a blocked account."""

from __future__ import annotations

import asyncio

import pytest

from core.accounts.login_codes import LOGIN_CODE_DIGITS, consume_login_code, issue_login_code
from core.accounts.users import set_blocked
from core.errors import AccountBlocked, InvalidCode, TooManyAttempts
from core.settings import Settings
from core.store.connection import Store
from tests.chat_support import new_user


async def test_a_code_signs_in_once(store: Store, settings: Settings) -> None:
    user = await new_user(store, settings)
    code = await issue_login_code(store, user.id)
    assert len(code) == LOGIN_CODE_DIGITS and code.isdigit()
    results = await asyncio.gather(
        *(consume_login_code(store, settings, code, ip="198.51.100.1") for _ in range(8)), return_exceptions=True
    )
    signed_in = [result for result in results if not isinstance(result, BaseException)]
    assert len(signed_in) == 1 and signed_in[0].id == user.id
    assert all(isinstance(result, InvalidCode) for result in results if isinstance(result, BaseException))
    assert not [key async for key in store.redis.scan_iter(match="*login*code*")]  # nothing left behind


async def test_spaces_are_forgiven_and_a_new_code_replaces_the_old(store: Store, settings: Settings) -> None:
    user = await new_user(store, settings)
    old = await issue_login_code(store, user.id)
    new = await issue_login_code(store, user.id)
    with pytest.raises(InvalidCode):
        await consume_login_code(store, settings, old, ip="198.51.100.1")
    spaced = f"{new[:4]} {new[4:]}"
    assert (await consume_login_code(store, settings, spaced, ip="198.51.100.1")).id == user.id


async def test_guessing_is_throttled_per_ip(store: Store, settings: Settings) -> None:
    strict = settings.model_copy(update={"LOGIN_MAX_FAILS_PER_IP": 3})
    user = await new_user(store, settings)
    code = await issue_login_code(store, user.id)
    for guess in ("00000000", "not-a-code", "11111111"):
        with pytest.raises(InvalidCode):
            await consume_login_code(store, strict, guess, ip="198.51.100.7")
    with pytest.raises(TooManyAttempts):
        await consume_login_code(store, strict, code, ip="198.51.100.7")  # even the right one, from that IP
    assert (await consume_login_code(store, strict, code, ip="198.51.100.8")).id == user.id


async def test_a_blocked_account_cannot_sign_in_with_a_code(store: Store, settings: Settings) -> None:
    user = await new_user(store, settings)
    code = await issue_login_code(store, user.id)
    await set_blocked(store, user.id, True)
    with pytest.raises(AccountBlocked):
        await consume_login_code(store, settings, code, ip="198.51.100.1")
