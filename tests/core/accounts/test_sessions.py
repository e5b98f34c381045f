"""Sessions against the real store: tokens, revocation, sliding expiry, blocked users."""

from __future__ import annotations

import time

import jwt
import pytest

from core.accounts import sessions
from core.accounts.registration import register_user
from core.accounts.signin import authenticate_token
from core.accounts.users import User, set_blocked
from core.settings import Settings
from core.store.connection import Store
from tests.webui.conftest import FAST_HASHING

SECRET = "session-test-secret-0123456789abcdef0123"
DAY = 86_400


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings with cheap password hashing (same argon2id code path)."""
    return settings.model_copy(update=FAST_HASHING)


@pytest.fixture
async def user(store: Store, settings: Settings) -> User:
    return await register_user(store, settings, None, email="alice@example.com", password="password123",
                               now=time.time())  # fmt: skip


async def _open(
    store: Store, settings: Settings, user: User, now: float, agent: str = "test"
) -> sessions.IssuedSession:
    return await sessions.create_session(store, settings, SECRET, user.id, ip="203.0.113.7", agent=agent, now=now)


async def test_token_resolves_to_user_and_session(store: Store, settings: Settings, user: User) -> None:
    now = time.time()
    issued = await _open(store, settings, user, now)
    claims = jwt.decode(issued.token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == str(user.id) and claims["sid"] == issued.session.id
    assert claims["exp"] - claims["iat"] == 7 * DAY
    auth = await authenticate_token(store, settings, SECRET, issued.token, now=now)
    assert auth is not None and auth.user.id == user.id and auth.session.csrf == issued.session.csrf
    assert auth.new_token is None
    assert 7 * DAY - 5 <= await store.redis.ttl(store.keys.session(user.id, issued.session.id)) <= 7 * DAY


@pytest.mark.parametrize("how", ["signature", "secret", "payload", "none-alg", "garbage"])
async def test_tampered_tokens_fail(store: Store, settings: Settings, user: User, how: str) -> None:
    now = time.time()
    issued = await _open(store, settings, user, now)
    header, payload, signature = issued.token.split(".")
    claims = {"sub": str(user.id), "sid": issued.session.id, "iat": int(now), "exp": int(now) + DAY}
    forged = {
        "signature": f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
        "secret": jwt.encode(claims, "another-secret-0123456789abcdef0123456", algorithm="HS256"),
        "payload": f"{header}.{jwt.encode({**claims, 'sub': '999'}, 'x' * 32).split('.')[1]}.{signature}",
        "none-alg": jwt.encode(claims, "", algorithm="none"),
        "garbage": "not.a.token",
    }[how]
    assert await authenticate_token(store, settings, SECRET, forged, now=now) is None


async def test_expired_token_fails_even_if_the_record_lives(store: Store, settings: Settings, user: User) -> None:
    now = time.time()
    issued = await _open(store, settings, user, now)
    assert await authenticate_token(store, settings, SECRET, issued.token, now=now + 7 * DAY + 1) is None
    assert await store.redis.exists(store.keys.session(user.id, issued.session.id))


async def test_revoked_session_fails_and_is_not_resurrected(store: Store, settings: Settings, user: User) -> None:
    now = time.time()
    issued = await _open(store, settings, user, now)
    assert await sessions.revoke_session(store, user.id, issued.session.id)
    assert not await sessions.revoke_session(store, user.id, issued.session.id)
    assert await authenticate_token(store, settings, SECRET, issued.token, now=now + 2 * DAY) is None
    claims = sessions.decode_token(SECRET, issued.token, now + 2 * DAY)
    assert claims is not None
    assert await sessions.touch_session(store, settings, SECRET, issued.session, claims, now + 2 * DAY) is None
    assert not await store.redis.exists(store.keys.session(user.id, issued.session.id))


async def test_expiry_slides_after_a_day(store: Store, settings: Settings, user: User) -> None:
    start = time.time()
    issued = await _open(store, settings, user, start)
    later = start + 2 * DAY
    auth = await authenticate_token(store, settings, SECRET, issued.token, now=later)
    assert auth is not None and auth.new_token is not None
    claims = sessions.decode_token(SECRET, auth.new_token, later)
    assert claims is not None and claims.expires_at == int(later) + 7 * DAY and claims.session_id == issued.session.id
    score = await store.redis.zscore(store.keys.sessions(user.id), issued.session.id)
    assert score == pytest.approx(later + 7 * DAY)
    # The old token still names the live session until its own exp; the new one outlives it.
    assert await authenticate_token(store, settings, SECRET, auth.new_token, now=start + 8 * DAY) is not None


async def test_seen_at_is_written_at_most_once_a_minute(store: Store, settings: Settings, user: User) -> None:
    start = time.time()
    issued = await _open(store, settings, user, start)
    key = store.keys.session(user.id, issued.session.id)
    await authenticate_token(store, settings, SECRET, issued.token, now=start + 30)
    assert float(str(await store.redis.hget(key, "seen_at"))) == pytest.approx(start)
    await authenticate_token(store, settings, SECRET, issued.token, now=start + 61)
    assert float(str(await store.redis.hget(key, "seen_at"))) == pytest.approx(start + 61)


async def test_blocked_flag_refuses_a_live_session_at_once(store: Store, settings: Settings, user: User) -> None:
    now = time.time()
    issued = await _open(store, settings, user, now)
    await store.redis.hset(store.keys.user(user.id), "blocked", 1)  # the flag alone is enough
    assert await authenticate_token(store, settings, SECRET, issued.token, now=now) is None
    await store.redis.hset(store.keys.user(user.id), "blocked", 0)
    assert await authenticate_token(store, settings, SECRET, issued.token, now=now) is not None
    await set_blocked(store, user.id, True)  # blocking also ends every session
    assert await sessions.list_sessions(store, user.id, now) == []


async def test_list_and_revoke_all_others(store: Store, settings: Settings, user: User) -> None:
    now = time.time()
    first = await _open(store, settings, user, now, "first")
    second = await _open(store, settings, user, now + 1, "second")
    third = await _open(store, settings, user, now + 2, "third")
    listed = await sessions.list_sessions(store, user.id, now + 3)
    assert [session.agent for session in listed] == ["third", "second", "first"]
    assert "csrf" not in listed[0].public()
    assert await sessions.revoke_sessions(store, user.id, keep=second.session.id) == 2
    for issued, alive in ((first, False), (second, True), (third, False)):
        auth = await authenticate_token(store, settings, SECRET, issued.token, now=now + 3)
        assert (auth is not None) is alive
    assert [session.id for session in await sessions.list_sessions(store, user.id, now + 3)] == [second.session.id]
    assert await sessions.revoke_sessions(store, user.id) == 1
    assert not await store.redis.exists(store.keys.sessions(user.id))


async def test_sessions_per_user_are_capped_oldest_first(store: Store, settings: Settings, user: User) -> None:
    capped = settings.model_copy(update={"MAX_SESSIONS_PER_USER": 3})
    now = time.time()
    opened = [await _open(store, capped, user, now + index, agent=f"device {index}") for index in range(5)]
    live = await sessions.list_sessions(store, user.id, now + 10)
    assert sorted(session.agent for session in live) == ["device 2", "device 3", "device 4"]
    assert await authenticate_token(store, capped, SECRET, opened[0].token, now=now + 10) is None
    assert await authenticate_token(store, capped, SECRET, opened[4].token, now=now + 10) is not None


async def test_a_session_works_only_in_the_app_that_opened_it(store: Store, settings: Settings, user: User) -> None:
    now = time.time()
    web = await _open(store, settings, user, now)
    admin = await sessions.create_session(store, settings, SECRET, user.id, ip="ip", agent="a", now=now, app="admin")
    assert await authenticate_token(store, settings, SECRET, web.token, now=now) is not None
    assert await authenticate_token(store, settings, SECRET, web.token, now=now, app="admin") is None
    assert await authenticate_token(store, settings, SECRET, admin.token, now=now) is None
    found = await authenticate_token(store, settings, SECRET, admin.token, now=now, app="admin")
    assert found is not None and found.session.app == "admin"
