"""Accounts against the real store: identities, registration races, invitations, sign-in, throttling, changes.

Codes travel through the real notifier to a real SMTP server (tests/fakes/smtp.py) and are read there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from core.accounts import sessions
from core.accounts.addresses import normalize_email, normalize_phone
from core.accounts.passwords import hash_password, needs_rehash, verify_password
from core.accounts.registration import create_admin, ensure_admin, register_user
from core.accounts.signin import authenticate_code, authenticate_password, bind_target, change_password, reset_password
from core.accounts.users import (
    User,
    count_users,
    find_user_by_target,
    get_user,
    list_users,
    set_blocked,
    set_role,
    update_profile,
)
from core.accounts.verification import send_code
from core.errors import (
    AccountBlocked,
    AlreadyRegistered,
    CodeRequired,
    InvalidCode,
    InvalidCredentials,
    InvalidEmail,
    InvalidInput,
    InvalidInviteCode,
    InvalidPhone,
    TooManyAttempts,
    WeakPassword,
)
from core.notify import Notifier
from core.settings import Settings
from core.store.connection import Store
from tests.conftest import all_keys
from tests.fakes.smtp import SmtpFake
from tests.webui.conftest import FAST_HASHING

EMAIL = "alice@example.com"
PASSWORD = "password123"
IP = "203.0.113.7"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings with cheap password hashing (same argon2id code path)."""
    return settings.model_copy(update=FAST_HASHING)


@pytest.fixture
async def mail(settings: Settings) -> AsyncIterator[tuple[SmtpFake, Settings, Notifier]]:
    """A real SMTP server, settings pointing at it, and the real notifier."""
    async with SmtpFake() as smtp, httpx.AsyncClient() as http:
        configured = settings.model_copy(update={**smtp.settings_update(), "SMTP_TLS": "none"})
        yield smtp, configured, Notifier(configured, http)


async def _register(store: Store, settings: Settings, email: str = EMAIL, **fields: object) -> User:
    return await register_user(store, settings, None, email=email, password=PASSWORD, now=time.time(),
                                        **fields)  # type: ignore[arg-type]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" Alice@Example.COM ", "alice@example.com"), ("a.b+tag@mail.example.cn", "a.b+tag@mail.example.cn")],
)
def test_emails_are_lower_cased(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["alice", "alice@", "@example.com", "a@b", "a..b@example.com", "a@-x.com",
                                 "a b@example.com", f"{'a' * 65}@example.com", "a@example.c"])  # fmt: skip
def test_invalid_emails_are_refused(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        normalize_email(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+8613800138000", "+8613800138000"), ("13800138000", "+8613800138000"), ("+14155550123", "+14155550123"),
     # grouping characters people type are dropped: spaces, dashes, dots, parentheses (ASCII and full-width)
     ("138 1234 5678", "+8613812345678"), ("+86 138-1234-5679", "+8613812345679"),
     ("(138) 1234 5678", "+8613812345678"), ("138.0013.8000", "+8613800138000"), ("+1 (415) 555-0123", "+14155550123"),
     (" +86\u3000138\uff080013\uff09\u20148000 ", "+8613800138000")],
)  # fmt: skip
def test_phones_become_e164(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["8613800138000", "12345", "+0123456789", "+1234567", "+1234567890123456",
                                 "23800138000", "138_0013_8000", "138/0013/8000", "138 0013 8000 x", "++8613800138000",
                                 "13800138000+", " - . ( ) ", "８６13800138000"])  # fmt: skip
def test_invalid_phones_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(raw)


async def test_register_and_sign_in_with_any_case(store: Store, settings: Settings) -> None:
    user = await _register(store, settings, "Alice@Example.com", name="Alice", lang="en")
    assert (user.email, user.role, user.blocked, user.lang) == (EMAIL, "user", False, "en")
    assert user.password_hash.startswith("$argon2id$") and "password_hash" not in user.public()
    assert len(user.invite_code) == 8
    signed_in = await authenticate_password(store, settings, "ALICE@example.COM", PASSWORD, ip=IP,
                                                     now=time.time())  # fmt: skip
    assert signed_in.id == user.id and signed_in.last_login_at > 0
    with pytest.raises(AlreadyRegistered):
        await _register(store, settings, "aLiCe@example.com")
    assert await count_users(store) == 1


async def test_phone_accounts(store: Store, settings: Settings) -> None:
    user = await register_user(store, settings, None, phone="13800138000", password=PASSWORD, now=1.0)
    assert user.phone == "+8613800138000" and user.email == ""
    found = await find_user_by_target(store, "+8613800138000")
    assert found is not None and found.id == user.id


async def test_phones_typed_with_grouping_work_everywhere(store: Store, settings: Settings) -> None:
    user = await register_user(store, settings, None, phone="138 1234 5678", password=PASSWORD, now=1.0)
    assert user.phone == "+8613812345678"
    with pytest.raises(AlreadyRegistered):
        await register_user(store, settings, None, phone="(138) 1234-5678", password=PASSWORD, now=1.0)
    signed_in = await authenticate_password(store, settings, "+86 138-1234-5678", PASSWORD, ip=IP, now=2.0)
    assert signed_in.id == user.id
    sent: list[tuple[str, str]] = []

    class Recorder:
        email_enabled = sms_enabled = True

        async def send_code(self, target: str, code: str, purpose: str, lang: str) -> None:
            sent.append((target, code))

    await send_code(store, settings, Recorder(), "138.1234.5678", "login", ip=IP, now=3.0)
    assert sent[-1][0] == "+8613812345678"  # the provider gets the E.164 form
    by_code = await authenticate_code(store, settings, "(138) 1234 5678", sent[-1][1], ip=IP, now=4.0)
    assert by_code.id == user.id
    other = await _register(store, settings)
    await send_code(store, settings, Recorder(), "+86 139 0013 9000", "bind", ip=IP, now=5.0)
    bound = await bind_target(store, settings, other.id, "139-0013-9000", sent[-1][1])
    assert bound.phone == "+8613900139000"


@pytest.mark.parametrize("count", [2, 20])
async def test_concurrent_registrations_of_one_email_one_wins(store: Store, settings: Settings, count: int) -> None:
    results = await asyncio.gather(
        *(_register(store, settings, EMAIL if i % 2 else EMAIL.upper()) for i in range(count)),
        return_exceptions=True,
    )
    winners = [result for result in results if isinstance(result, User)]
    assert len(winners) == 1
    assert all(isinstance(result, AlreadyRegistered) for result in results if result is not winners[0])
    assert await store.redis.get(store.keys.email_index(EMAIL)) == str(winners[0].id)
    assert await count_users(store) == 1
    assert len(await all_keys(store, store.keys.invite_index("*"))) == 1  # losers released their claims


async def test_invitation_records_inviter_and_rewards_only_a_proven_invitee(store: Store, settings: Settings) -> None:
    generous = settings.model_copy(update={"INVITE_RESET_CHANCES": 3})
    inviter = await _register(store, generous)
    invitee = await _register(store, generous, "bob@example.com", invite_code=inviter.invite_code.lower())
    assert invitee.inviter_id == inviter.id
    refreshed = await get_user(store, inviter.id)
    # No code proved bob's address (no provider): counted as invited, not rewarded (core.billing.invitations).
    assert refreshed is not None and (refreshed.reset_chances, refreshed.invitee_count) == (0, 1)
    assert await store.redis.zrange(store.keys.invitees(inviter.id), 0, -1) == [str(invitee.id)]


@pytest.mark.parametrize(
    ("fields", "error"),
    [({"invite_code": "NOSUCH99"}, InvalidInviteCode), ({"email": "bad@"}, InvalidEmail),
     ({"password": "short"}, WeakPassword), ({"lang": "fr"}, InvalidInput), ({"name": "x" * 65}, InvalidInput)],
)  # fmt: skip
async def test_bad_registrations_write_nothing(store: Store, settings: Settings, fields: dict, error: type) -> None:
    body = {"email": EMAIL, "password": PASSWORD, **fields}
    with pytest.raises(error):
        await register_user(store, settings, None, now=time.time(), **body)
    assert await store.redis.dbsize() == 0


async def test_with_a_provider_registration_needs_the_mailed_code(
    store: Store, mail: tuple[SmtpFake, Settings, Notifier]
) -> None:
    smtp, settings, notifier = mail
    register = register_user
    with pytest.raises(CodeRequired):
        await register(store, settings, notifier, email=EMAIL, password=PASSWORD, now=time.time())
    await send_code(store, settings, notifier, EMAIL, "register", ip=IP, now=time.time())
    code = smtp.code_for(EMAIL)
    with pytest.raises(InvalidCode):
        await register(store, settings, notifier, email=EMAIL, password=PASSWORD, code="999999" if code != "999999"
                       else "000000", now=time.time())  # fmt: skip
    user = await register(store, settings, notifier, email=EMAIL, password=PASSWORD, code=code, now=time.time())
    assert user.email == EMAIL
    # Phones have no provider here, so they still register without a code.
    await register(store, settings, notifier, phone="+14155550123", password=PASSWORD, now=time.time())


async def test_code_sign_in_and_password_reset_by_mail(store: Store, mail: tuple[SmtpFake, Settings, Notifier]) -> None:
    smtp, settings, notifier = mail
    user = await _register(store, settings)
    issued = await sessions.create_session(store, settings, "s" * 32, user.id, ip=IP, agent="a", now=time.time())
    await send_code(store, settings, notifier, EMAIL, "login", ip=IP, now=time.time())
    signed_in = await authenticate_code(store, settings, EMAIL, smtp.code_for(EMAIL), ip=IP, now=time.time())
    assert signed_in.id == user.id
    await store.redis.delete(store.keys.code_cooldown(EMAIL))  # skip the resend wait
    await send_code(store, settings, notifier, EMAIL, "reset", ip=IP, now=time.time())
    await reset_password(store, settings, EMAIL, smtp.code_for(EMAIL), "new password 1")
    assert await sessions.list_sessions(store, user.id, time.time()) == []
    assert not await store.redis.exists(store.keys.session(user.id, issued.session.id))
    with pytest.raises(InvalidCredentials):
        await authenticate_password(store, settings, EMAIL, PASSWORD, ip=IP, now=time.time())
    await authenticate_password(store, settings, EMAIL, "new password 1", ip=IP, now=time.time())


async def test_blocked_users_cannot_sign_in(store: Store, settings: Settings) -> None:
    user = await _register(store, settings)
    await set_blocked(store, user.id, True)
    with pytest.raises(AccountBlocked):
        await authenticate_password(store, settings, EMAIL, PASSWORD, ip=IP, now=time.time())
    with pytest.raises(InvalidCredentials):  # a wrong password does not even learn that the account is blocked
        await authenticate_password(store, settings, EMAIL, "wrong password", ip=IP, now=time.time())
    await set_blocked(store, user.id, False)
    await authenticate_password(store, settings, EMAIL, PASSWORD, ip=IP, now=time.time())


async def test_sign_in_is_throttled_per_account(store: Store, settings: Settings) -> None:
    strict = settings.model_copy(update={"LOGIN_MAX_FAILS_PER_ACCOUNT": 3})
    await _register(store, strict)
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            await authenticate_password(store, strict, EMAIL, "wrong password", ip=IP, now=time.time())
    with pytest.raises(TooManyAttempts) as caught:
        await authenticate_password(store, strict, EMAIL, PASSWORD, ip="198.51.100.1", now=time.time())
    assert 0 < caught.value.data["retry_after"] <= strict.LOGIN_FAIL_WINDOW_SECONDS
    await store.redis.delete(store.keys.login_fails_account(EMAIL))  # the window ends
    await authenticate_password(store, strict, EMAIL, PASSWORD, ip=IP, now=time.time())


async def test_success_clears_the_account_counter(store: Store, settings: Settings) -> None:
    strict = settings.model_copy(update={"LOGIN_MAX_FAILS_PER_ACCOUNT": 3})
    await _register(store, strict)
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            await authenticate_password(store, strict, EMAIL, "wrong password", ip=IP, now=time.time())
    await authenticate_password(store, strict, EMAIL, PASSWORD, ip=IP, now=time.time())
    assert not await store.redis.exists(store.keys.login_fails_account(EMAIL))
    assert await store.redis.get(store.keys.login_fails_ip(IP)) == "2"  # the two failures, not the success


async def test_sign_in_is_throttled_per_ip_and_unknown_accounts_count(store: Store, settings: Settings) -> None:
    strict = settings.model_copy(update={"LOGIN_MAX_FAILS_PER_IP": 3})
    await _register(store, strict)
    for number in range(3):
        with pytest.raises(InvalidCredentials):
            await authenticate_password(store, strict, f"u{number}@example.com", PASSWORD, ip=IP,
                                                 now=time.time())  # fmt: skip
    with pytest.raises(TooManyAttempts):
        await authenticate_password(store, strict, EMAIL, PASSWORD, ip=IP, now=time.time())
    assert not await store.redis.exists(store.keys.login_fails_account(EMAIL))  # refused by IP: not its failure
    await authenticate_password(store, strict, EMAIL, PASSWORD, ip="198.51.100.1", now=time.time())


async def test_parallel_guesses_cannot_pass_the_limit(store: Store, settings: Settings) -> None:
    strict = settings.model_copy(update={"LOGIN_MAX_FAILS_PER_ACCOUNT": 3})
    await _register(store, strict)
    results = await asyncio.gather(
        *(authenticate_password(store, strict, EMAIL, f"guess {i:04d}", ip=IP, now=time.time())
          for i in range(8)),
        return_exceptions=True,
    )  # fmt: skip
    assert sum(isinstance(result, InvalidCredentials) for result in results) == 3
    assert sum(isinstance(result, TooManyAttempts) for result in results) == 5


async def test_change_password_revokes_the_other_sessions(store: Store, settings: Settings) -> None:
    user = await _register(store, settings)
    now = time.time()
    keep = await sessions.create_session(store, settings, "s" * 32, user.id, ip=IP, agent="keep", now=now)
    other = await sessions.create_session(store, settings, "s" * 32, user.id, ip=IP, agent="other", now=now)
    with pytest.raises(InvalidCredentials):
        await change_password(store, settings, user.id, "wrong password", "brand new pw", ip=IP,
                                       keep_session=keep.session.id)  # fmt: skip
    with pytest.raises(WeakPassword):
        await change_password(store, settings, user.id, PASSWORD, "short", ip=IP, keep_session=None)
    revoked = await change_password(store, settings, user.id, PASSWORD, "brand new pw", ip=IP,
                                             keep_session=keep.session.id)  # fmt: skip
    assert revoked == 1
    assert [s.id for s in await sessions.list_sessions(store, user.id, now)] == [keep.session.id]
    assert not await store.redis.exists(store.keys.session(user.id, other.session.id))
    await authenticate_password(store, settings, EMAIL, "brand new pw", ip=IP, now=now)


async def test_profile_role_listing_and_admin_creation(store: Store, settings: Settings) -> None:
    first = await _register(store, settings)
    second = await _register(store, settings, "bob@example.com")
    assert [user.id for user in await list_users(store, 0, 10)] == [second.id, first.id]
    assert [user.id for user in await list_users(store, 1, 10)] == [first.id]
    assert await list_users(store, 0, 0) == []
    updated = await update_profile(store, first.id, name="Alice", lang="en")
    assert (updated.name, updated.lang) == ("Alice", "en")
    assert (await set_role(store, first.id, "admin")).is_admin
    admin = await create_admin(store, settings, email="root@example.com", password="root password", now=1.0)
    assert admin.is_admin and admin.email == "root@example.com"
    promoted = await create_admin(store, settings, email="BOB@example.com", password="bob admin pw", now=2.0)
    assert promoted.id == second.id and promoted.is_admin
    await authenticate_password(store, settings, "bob@example.com", "bob admin pw", ip=IP, now=3.0)


async def test_making_an_existing_account_admin_replaces_its_password_and_ends_its_sessions(
    store: Store, settings: Settings
) -> None:
    user = await _register(store, settings)
    now = time.time()
    held = [await sessions.create_session(store, settings, "s" * 32, user.id, ip=IP, agent=f"a{i}", now=now)
            for i in range(2)]  # fmt: skip
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            await authenticate_password(store, settings, EMAIL, "wrong password", ip=IP, now=now)
    assert await store.redis.exists(store.keys.login_fails_account(EMAIL))
    result = await ensure_admin(store, settings, email="ALICE@example.com", password="new admin pw", now=now)
    assert (result.user.id, result.user.is_admin, result.promoted, result.sessions_ended) == (user.id, True, True, 2)
    assert await sessions.list_sessions(store, user.id, now) == []
    for issued in held:
        assert not await store.redis.exists(store.keys.session(user.id, issued.session.id))
    assert not await store.redis.exists(store.keys.login_fails_account(EMAIL))  # a locked-out admin gets back in
    with pytest.raises(InvalidCredentials):
        await authenticate_password(store, settings, EMAIL, PASSWORD, ip=IP, now=now)
    fresh = await ensure_admin(store, settings, phone="139 0013 9000", password="new admin pw", now=now)
    assert (fresh.promoted, fresh.sessions_ended, fresh.user.last_login_at) == (False, 0, 0)  # made, not signed in


async def test_registering_counts_as_the_first_sign_in(store: Store, settings: Settings) -> None:
    user = await register_user(store, settings, None, email=EMAIL, password=PASSWORD, now=1234.5)
    assert (user.created_at, user.last_login_at) == (1234.5, 1234.5)
    stored = await get_user(store, user.id)
    assert stored is not None and stored.last_login_at == 1234.5


async def test_bind_adds_a_proven_phone(store: Store, settings: Settings) -> None:
    user = await _register(store, settings)
    await _register(store, settings, "bob@example.com")

    class Recorder:
        email_enabled = sms_enabled = True

        def __init__(self) -> None:
            self.sent: list[str] = []

        async def send_code(self, target: str, code: str, purpose: str, lang: str) -> None:
            self.sent.append(code)

    recorder = Recorder()
    await send_code(store, settings, recorder, "13800138000", "bind", ip=IP, now=time.time())
    with pytest.raises(InvalidCode):
        await bind_target(store, settings, user.id, "13900139000", recorder.sent[-1])
    bound = await bind_target(store, settings, user.id, "+8613800138000", recorder.sent[-1])
    assert bound.phone == "+8613800138000" and bound.email == EMAIL
    found = await find_user_by_target(store, "13800138000")
    assert found is not None and found.id == user.id


async def test_default_cost_is_rfc9106_argon2id(store: Store) -> None:
    production = Settings(_env_file=None)  # type: ignore[call-arg]
    password_hash = await hash_password(production, PASSWORD)
    assert password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert await verify_password(production, password_hash, PASSWORD)
    assert not await verify_password(production, password_hash, "wrong password")
    # A hash made at another cost still verifies, and sign-in knows to upgrade it.
    assert needs_rehash(production, await hash_password(production.model_copy(update=FAST_HASHING), PASSWORD))
