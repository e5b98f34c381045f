"""Verification codes against the real store: tries, single use, purpose binding, cooldown, caps, delivery."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import pytest

from core.accounts.registration import register_user
from core.accounts.verification import code_digest, send_code, verify_code
from core.errors import (
    AlreadyRegistered,
    CodeCooldown,
    CodeDailyCap,
    DeliveryFailed,
    DeliveryUnavailable,
    InvalidCode,
    InvalidEmail,
    InvalidInput,
    InvalidPhone,
)
from core.settings import Settings
from core.store.connection import Store
from tests.webui.conftest import FAST_HASHING

EMAIL = "alice@example.com"
IP = "203.0.113.7"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings with cheap password hashing (same argon2id code path)."""
    return settings.model_copy(update=FAST_HASHING)


@dataclass
class RecordingNotifier:
    """Duck-typed notifier: records what it was asked to deliver; `fail` makes the provider refuse."""

    email_enabled: bool = True
    sms_enabled: bool = True
    fail: bool = False
    sent: list[tuple[str, str, str, str]] = field(default_factory=list)

    async def send_code(self, target: str, code: str, purpose: str, lang: str) -> None:
        if self.fail:
            raise DeliveryFailed()
        self.sent.append((target, code, purpose, lang))

    def last_code(self, target: str) -> str:
        return next(code for sent_to, code, _, _ in reversed(self.sent) if sent_to == target)


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


async def _send(store: Store, settings: Settings, notifier: RecordingNotifier, target: str = EMAIL,
                purpose: str = "register", ip: str = IP) -> int:  # fmt: skip
    return await send_code(store, settings, notifier, target, purpose, ip=ip, now=time.time())


async def test_code_is_sent_stored_hashed_and_verifies_once(
    store: Store, settings: Settings, notifier: RecordingNotifier
) -> None:
    assert await _send(store, settings, notifier, "Alice@Example.COM") == 60
    code = notifier.last_code(EMAIL)
    assert len(code) == 6 and code.isdigit()
    stored = await store.redis.hgetall(store.keys.code("register", EMAIL))
    assert code not in str(stored) and stored["digest"] == code_digest(code, EMAIL, "register")
    assert 290 <= await store.redis.ttl(store.keys.code("register", EMAIL)) <= 300
    await verify_code(store, settings, EMAIL, "register", code)
    with pytest.raises(InvalidCode):  # single use
        await verify_code(store, settings, EMAIL, "register", code)


async def test_after_five_wrong_tries_even_the_right_code_fails(
    store: Store, settings: Settings, notifier: RecordingNotifier
) -> None:
    await _send(store, settings, notifier)
    code = notifier.last_code(EMAIL)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(InvalidCode):
            await verify_code(store, settings, EMAIL, "register", wrong)
    with pytest.raises(InvalidCode):
        await verify_code(store, settings, EMAIL, "register", code)


async def test_four_wrong_tries_still_leave_the_right_code_usable(
    store: Store, settings: Settings, notifier: RecordingNotifier
) -> None:
    await _send(store, settings, notifier)
    code = notifier.last_code(EMAIL)
    for _ in range(4):
        with pytest.raises(InvalidCode):
            await verify_code(store, settings, EMAIL, "register", "000000" if code != "000000" else "111111")
    await verify_code(store, settings, EMAIL, "register", code)


async def test_codes_are_bound_to_purpose_and_target(
    store: Store, settings: Settings, notifier: RecordingNotifier
) -> None:
    await register_user(store, settings, None, email=EMAIL, password="password123", now=time.time())
    await _send(store, settings, notifier, purpose="login")
    code = notifier.last_code(EMAIL)
    with pytest.raises(InvalidCode):
        await verify_code(store, settings, EMAIL, "reset", code)
    with pytest.raises(InvalidCode):
        await verify_code(store, settings, "bob@example.com", "login", code)
    await verify_code(store, settings, EMAIL, "login", code)


async def test_concurrent_verifications_of_one_code_succeed_once(
    store: Store, settings: Settings, notifier: RecordingNotifier
) -> None:
    await _send(store, settings, notifier)
    code = notifier.last_code(EMAIL)
    results = await asyncio.gather(
        *(verify_code(store, settings, EMAIL, "register", code) for _ in range(10)), return_exceptions=True
    )
    assert sum(result is None for result in results) == 1
    assert all(isinstance(result, InvalidCode) for result in results if result is not None)


async def test_resend_cooldown_holds_then_expires(
    store: Store, settings: Settings, notifier: RecordingNotifier
) -> None:
    quick = settings.model_copy(update={"CODE_COOLDOWN_SECONDS": 1})
    await _send(store, quick, notifier)
    with pytest.raises(CodeCooldown) as caught:
        await _send(store, quick, notifier)
    assert caught.value.data["retry_after"] == 1
    assert len(notifier.sent) == 1
    await asyncio.sleep(1.1)
    await _send(store, quick, notifier)
    assert len(notifier.sent) == 2


async def test_daily_cap_per_target(store: Store, settings: Settings, notifier: RecordingNotifier) -> None:
    capped = settings.model_copy(update={"CODE_COOLDOWN_SECONDS": 0, "CODE_DAILY_CAP_PER_TARGET": 3})
    for number in range(3):
        await _send(store, capped, notifier, ip=f"198.51.100.{number}")
    with pytest.raises(CodeDailyCap) as caught:
        await _send(store, capped, notifier, ip="198.51.100.99")
    assert caught.value.data == {"scope": "target"}
    assert len(notifier.sent) == 3
    await _send(store, capped, notifier, target="bob@example.com")  # other targets are unaffected


async def test_daily_cap_per_ip(store: Store, settings: Settings, notifier: RecordingNotifier) -> None:
    capped = settings.model_copy(update={"CODE_DAILY_CAP_PER_IP": 2})
    await _send(store, capped, notifier, target="a@example.com")
    await _send(store, capped, notifier, target="b@example.com")
    with pytest.raises(CodeDailyCap) as caught:
        await _send(store, capped, notifier, target="c@example.com")
    assert caught.value.data == {"scope": "ip"}
    await _send(store, capped, notifier, target="c@example.com", ip="198.51.100.1")


async def test_failed_delivery_burns_no_cooldown_and_no_cap(store: Store, settings: Settings) -> None:
    capped = settings.model_copy(update={"CODE_DAILY_CAP_PER_TARGET": 1})
    failing = RecordingNotifier(fail=True)
    with pytest.raises(DeliveryFailed):
        await _send(store, capped, failing)
    assert not await store.redis.exists(store.keys.code("register", EMAIL))
    working = RecordingNotifier()
    await _send(store, capped, working)  # no cooldown, and the cap of 1 is still free
    assert len(working.sent) == 1


async def test_unexpected_notifier_error_becomes_delivery_failed(store: Store, settings: Settings) -> None:
    class Broken(RecordingNotifier):
        async def send_code(self, target: str, code: str, purpose: str, lang: str) -> None:
            raise OSError("connection reset")

    with pytest.raises(DeliveryFailed):
        await _send(store, settings, Broken())
    await _send(store, settings, RecordingNotifier())


async def test_login_code_for_unknown_account_answers_alike_without_sending(
    store: Store, settings: Settings, notifier: RecordingNotifier
) -> None:
    assert await _send(store, settings, notifier, "nobody@example.com", "login") == 60
    assert notifier.sent == []
    assert not await store.redis.exists(store.keys.code("login", "nobody@example.com"))
    with pytest.raises(CodeCooldown):  # the same cooldown a real account would get
        await _send(store, settings, notifier, "nobody@example.com", "reset")


async def test_register_and_bind_codes_need_a_free_address(
    store: Store, settings: Settings, notifier: RecordingNotifier
) -> None:
    await register_user(store, settings, None, email=EMAIL, password="password123", now=time.time())
    for purpose in ("register", "bind"):
        await store.redis.delete(store.keys.code_cooldown(EMAIL))  # each probe takes the address's cooldown
        with pytest.raises(AlreadyRegistered):
            await _send(store, settings, notifier, purpose=purpose)
    assert notifier.sent == []
    with pytest.raises(CodeCooldown):  # a repeated probe is throttled like a repeated send
        await _send(store, settings, notifier, purpose="register")


async def test_phone_codes_use_e164_and_need_an_sms_provider(store: Store, settings: Settings) -> None:
    email_only = RecordingNotifier(sms_enabled=False)
    with pytest.raises(DeliveryUnavailable):
        await _send(store, settings, email_only, "13800138000")
    with pytest.raises(DeliveryUnavailable):
        await send_code(store, settings, None, EMAIL, "register", ip=IP, now=time.time())
    both = RecordingNotifier()
    await _send(store, settings, both, "13800138000")
    assert both.sent[0][0] == "+8613800138000"


@pytest.mark.parametrize(
    ("target", "purpose", "error"),
    [("not-an-email@", "register", InvalidEmail), ("12345", "register", InvalidPhone),
     (EMAIL, "delete-account", InvalidInput)],
)  # fmt: skip
async def test_bad_requests_write_nothing(
    store: Store, settings: Settings, notifier: RecordingNotifier, target: str, purpose: str, error: type
) -> None:
    with pytest.raises(error):
        await _send(store, settings, notifier, target, purpose)
    assert await store.redis.dbsize() == 0
    assert notifier.sent == []
