"""Registrations per IP and per network (/24, /64): refused plainly past the limit, nothing written."""

from __future__ import annotations

import pytest

from core.accounts.registration import register_user
from core.accounts.signup_limits import network_of
from core.accounts.users import count_users
from core.errors import AlreadyRegistered, TooManyAttempts
from core.settings import Settings
from core.store.connection import Store
from tests.webui.conftest import FAST_HASHING


def test_networks() -> None:
    assert network_of("203.0.113.77") == "203.0.113.0/24"
    assert network_of("::ffff:203.0.113.77") == "203.0.113.0/24"
    assert network_of("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert network_of("<local>") == "<local>"


async def test_limits_per_ip_and_per_network(store: Store, settings: Settings) -> None:
    limited = settings.model_copy(update={**FAST_HASHING, "REGISTER_MAX_PER_IP": 2, "REGISTER_MAX_PER_SUBNET": 3})

    async def sign_up(email: str, ip: str) -> object:
        try:
            return await register_user(store, limited, None, email=email, password="pw12345678", now=0, ip=ip)
        except (TooManyAttempts, AlreadyRegistered) as error:
            return error

    results = [await sign_up(f"a{n}@example.com", "203.0.113.1") for n in range(3)]
    assert isinstance(results[2], TooManyAttempts) and results[2].data["retry_after"] > 0
    assert not isinstance(await sign_up("a0@example.com", "203.0.113.1"), TooManyAttempts)  # taken: 409 first
    assert not isinstance(await sign_up("b0@example.com", "203.0.113.2"), TooManyAttempts)  # the /24's third
    assert isinstance(await sign_up("b1@example.com", "203.0.113.3"), TooManyAttempts)  # the /24 is full
    assert not isinstance(await sign_up("c0@example.com", "198.51.100.1"), TooManyAttempts)
    assert await count_users(store) == 4
    with pytest.raises(TooManyAttempts):  # nothing was written for the refused ones
        await register_user(store, limited, None, email="a2@example.com", password="pw12345678", now=0,
                            ip="203.0.113.1")  # fmt: skip
    assert await store.redis.get(store.keys.email_index("a2@example.com")) is None
