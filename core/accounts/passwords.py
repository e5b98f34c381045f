"""Password hashing with argon2id; the cost comes from settings (default: RFC 9106 low-memory profile).

Hashing takes ~0.1 s of CPU and 64 MiB at the default cost, so it runs in a worker thread (argon2-cffi releases
the GIL) and never blocks the event loop. Verification reads the cost from the stored hash, so raising the cost
later still verifies old hashes, and `needs_rehash` tells sign-in to upgrade them.
"""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import InvalidInput, WeakPassword
from core.settings import Settings

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
PARALLELISM = 4


@functools.lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    # Stateless and thread-safe (parameters only), so one per cost is shared by every worker thread.
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=PARALLELISM)


def hasher_for(settings: Settings) -> PasswordHasher:
    """Return the argon2id hasher at the configured cost."""
    return _hasher(settings.PASSWORD_HASH_TIME_COST, settings.PASSWORD_HASH_MEMORY_KIB)


@functools.lru_cache(maxsize=8)
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Return a hash to verify against when an account does not exist (a miss costs a real verification)."""
    return hasher.hash("chatgate-dummy-password")


def check_password_rules(password: str) -> None:
    """Raise WeakPassword / InvalidInput unless the password is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"The password must be at most {MAX_PASSWORD_LENGTH} characters.", field="password")


async def hash_password(settings: Settings, password: str) -> str:
    """Return the argon2id hash of a password."""
    return await asyncio.to_thread(hasher_for(settings).hash, password)


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        if not password_hash:
            hasher.verify(_dummy_hash(hasher), password)
            return False
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(settings: Settings, password_hash: str, password: str) -> bool:
    """Say whether the password matches; an empty or foreign hash never matches."""
    return await asyncio.to_thread(_verify, hasher_for(settings), password_hash, password)


async def burn_verification(settings: Settings, password: str) -> None:
    """Spend the time of one verification, for accounts that do not exist."""
    await asyncio.to_thread(_verify, hasher_for(settings), "", password)


def needs_rehash(settings: Settings, password_hash: str) -> bool:
    """Say whether the hash was made at another cost than the configured one."""
    try:
        return hasher_for(settings).check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
