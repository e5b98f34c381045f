"""Verification codes for register / login / reset / bind: 6 digits, short-lived, hashed, single-use.

Sending claims the resend cooldown and the daily caps atomically (Lua `claim_code_send`) before anything is
delivered; a delivery the provider refused gives the claim back (`release_code_send`), so failures burn nothing.
The stored digest is sha256(code + target + purpose): the code is never stored, and a code for one purpose or
address can never verify another. `verify_code` (Lua) deletes the code on success and after CODE_MAX_TRIES misses.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Literal, Protocol, get_args

from core.accounts.addresses import Target, TargetKind, index_key, parse_target
from core.days import day_stamp
from core.errors import (
    AlreadyRegistered,
    CodeCooldown,
    CodeDailyCap,
    CoreError,
    DeliveryFailed,
    DeliveryUnavailable,
    InvalidCode,
    InvalidInput,
)
from core.settings import Settings
from core.store.connection import Store

log = logging.getLogger(__name__)

Purpose = Literal["register", "login", "reset", "bind"]
PURPOSES: tuple[str, ...] = get_args(Purpose)
# Purposes that create an identity (the address must be free) vs. those that act on an existing account.
NEW_IDENTITY_PURPOSES = frozenset({"register", "bind"})
DAY_COUNTER_TTL = 90_000  # a day plus an hour: the key name carries the (UTC) day


class CodeNotifier(Protocol):
    """What sending needs from the notifier (core.notify): which kinds can be delivered, and delivery."""

    @property
    def email_enabled(self) -> bool: ...

    @property
    def sms_enabled(self) -> bool: ...

    async def send_code(self, target: str, code: str, purpose: str, lang: str) -> None: ...


def delivery_available(notifier: CodeNotifier | None, kind: TargetKind) -> bool:
    """Say whether a provider is configured for this kind of address."""
    if notifier is None:
        return False
    return bool(notifier.email_enabled if kind == "email" else notifier.sms_enabled)


def code_digest(code: str, target: str, purpose: str) -> str:
    """Return the stored form of a code for one target and purpose."""
    return hashlib.sha256(f"{code}{target}{purpose}".encode()).hexdigest()


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise InvalidInput(f"purpose must be one of {', '.join(PURPOSES)}.", field="purpose")


def _counter_keys(store: Store, target: str, ip: str, now: float) -> list[str]:
    day = day_stamp(now)
    keys = store.keys
    return [keys.code_cooldown(target), keys.code_daily_target(target, day), keys.code_daily_ip(ip, day)]


async def _claim(store: Store, settings: Settings, counters: list[str]) -> None:
    outcome, ttl = await store.scripts.run(
        "claim_code_send", counters,
        [settings.CODE_COOLDOWN_SECONDS, settings.CODE_DAILY_CAP_PER_TARGET, settings.CODE_DAILY_CAP_PER_IP,
         DAY_COUNTER_TTL],
    )  # fmt: skip
    if outcome == 0:
        raise CodeCooldown(retry_after=int(ttl))
    if outcome in (1, 2):
        raise CodeDailyCap(scope="target" if outcome == 1 else "ip")


async def _account_exists(store: Store, target: Target) -> bool:
    return bool(await store.redis.exists(index_key(store.keys, target)))


async def send_code(
    store: Store, settings: Settings, notifier: CodeNotifier | None, target: str, purpose: str,
    *, ip: str, now: float, lang: str = "",
) -> int:  # fmt: skip
    """Create and deliver a code; return the resend cooldown in seconds.

    For login/reset to an unknown address nothing is sent, but the answer (and the cooldown) is the same, so the
    endpoint does not reveal which addresses have accounts. For register/bind an address that has an account is
    refused (AlreadyRegistered, so the person can sign in instead), but only after the cooldown and the per-target
    and per-IP daily counters were taken: probing many addresses costs what sending codes to them would.
    """
    _check_purpose(purpose)
    parsed = parse_target(target)
    if notifier is None or not delivery_available(notifier, parsed.kind):
        raise DeliveryUnavailable()
    counters = _counter_keys(store, parsed.value, ip, now)
    await _claim(store, settings, counters)  # before any lookup: every probe costs a cooldown and the daily caps
    exists = await _account_exists(store, parsed)
    if purpose in NEW_IDENTITY_PURPOSES and exists:
        raise AlreadyRegistered()
    if purpose not in NEW_IDENTITY_PURPOSES and not exists:
        return settings.CODE_COOLDOWN_SECONDS
    code = f"{secrets.randbelow(1_000_000):06d}"
    code_key = store.keys.code(purpose, parsed.value)
    async with store.redis.pipeline(transaction=True) as pipe:
        pipe.hset(code_key, mapping={"digest": code_digest(code, parsed.value, purpose), "tries": 0})
        pipe.expire(code_key, settings.CODE_TTL_SECONDS)
        await pipe.execute()
    try:
        await notifier.send_code(parsed.value, code, purpose, lang or settings.DEFAULT_LANGUAGE)
    except Exception as exc:
        await store.redis.delete(code_key)
        await store.scripts.run("release_code_send", counters)
        if isinstance(exc, CoreError):
            raise
        log.warning("code delivery to a %s failed: %s", parsed.kind, type(exc).__name__)
        raise DeliveryFailed() from exc
    return settings.CODE_COOLDOWN_SECONDS


async def verify_code(store: Store, settings: Settings, target: str, purpose: str, code: str) -> None:
    """Consume a code for a normalized target and purpose, or raise InvalidCode."""
    _check_purpose(purpose)
    result = await store.scripts.run(
        "verify_code", [store.keys.code(purpose, target)],
        [code_digest(code.strip(), target, purpose), settings.CODE_MAX_TRIES],
    )  # fmt: skip
    if result != 1:
        raise InvalidCode()
