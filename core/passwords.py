"""Password hashing with argon2id (argon2-cffi defaults: RFC 9106 low-memory profile).

Hashing takes ~0.1 s of CPU and 64 MiB, so it runs in a worker thread (argon2-cffi releases the GIL) and never
blocks the event loop.
"""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import InvalidInput, WeakPassword

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()  # stateless and thread-safe: only parameters, no connection or loop


@functools.cache
def _dummy_hash() -> str:
    """Return a hash to verify against when an account does not exist (a miss costs a real verification)."""
    return _hasher.hash("chatgate-dummy-password")


def check_password_rules(password: str) -> None:
    """Raise WeakPassword / InvalidInput unless the password is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"The password must be at most {MAX_PASSWORD_LENGTH} characters.", field="password")


async def hash_password(password: str) -> str:
    """Return the argon2id hash of a password."""
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        if not password_hash:
            _hasher.verify(_dummy_hash(), password)
            return False
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str, password: str) -> bool:
    """Say whether the password matches; an empty or foreign hash never matches."""
    return await asyncio.to_thread(_verify, password_hash, password)


async def burn_verification(password: str) -> None:
    """Spend the time of one verification, for accounts that do not exist."""
    await asyncio.to_thread(_verify, "", password)


def needs_rehash(password_hash: str) -> bool:
    """Say whether the hash was made with weaker parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
