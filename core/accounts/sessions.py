"""Sessions: a PyJWT (HS256) token names a session record in the store, so every session is revocable.

Token claims: ``sub`` (user id as a string), ``sid`` (session id), ``iat``, ``exp``. The record
``{u:ID}:sess:<sid>`` (created_at, seen_at, ip, agent, csrf, app) lives for SESSION_TTL_DAYS and slides: a token
older than a day is reissued and the record's TTL renewed. ``{u:ID}:sessions`` lists the ids scored by expiry; past
MAX_SESSIONS_PER_USER the sessions closest to expiring are ended. A session belongs to the app that opened it
(`web` or `admin`): a web session is no dashboard session, and the other way round.
Expiry is checked against the caller's clock (``now``), not the machine's, so tests and the store agree.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

import jwt
from redis.asyncio.client import Pipeline
from redis.typing import EncodableT, FieldT

from core.settings import Settings
from core.store.connection import Store

ALGORITHM = "HS256"
REISSUE_AFTER_SECONDS = 86_400  # slide the expiry (new token, renewed TTL) at most once a day
SEEN_RESOLUTION_SECONDS = 60  # write seen_at at most once a minute: one write, not one per request
MAX_AGENT_LENGTH = 200
MAX_IP_LENGTH = 64
APPS = ("web", "admin")


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    session_id: str
    issued_at: int
    expires_at: int


@dataclass(frozen=True)
class Session:
    id: str
    user_id: int
    created_at: float
    seen_at: float
    ip: str
    agent: str
    csrf: str
    app: str = "web"

    def public(self) -> dict[str, object]:
        """Return the fields shown on the account page (never the CSRF token)."""
        return {"id": self.id, "created_at": self.created_at, "seen_at": self.seen_at, "ip": self.ip,
                "agent": self.agent, "app": self.app}  # fmt: skip


@dataclass(frozen=True)
class IssuedSession:
    token: str
    session: Session


def session_ttl(settings: Settings) -> int:
    return settings.SESSION_TTL_DAYS * 86_400


def encode_token(secret: str, user_id: int, session_id: str, now: float, ttl: int) -> str:
    """Sign a session token valid for `ttl` seconds from `now`."""
    issued = int(now)
    claims = {"sub": str(user_id), "sid": session_id, "iat": issued, "exp": issued + ttl}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str, now: float) -> TokenClaims | None:
    """Return the claims of a well-signed, unexpired token, else None."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM],
            options={"require": ["sub", "sid", "iat", "exp"], "verify_exp": False, "verify_iat": False},
        )  # fmt: skip
        parsed = TokenClaims(int(claims["sub"]), str(claims["sid"]), int(claims["iat"]), int(claims["exp"]))
    except (jwt.InvalidTokenError, TypeError, ValueError):
        return None
    if parsed.expires_at <= now or parsed.issued_at > now + 60 or not parsed.session_id:
        return None
    return parsed


def session_from_fields(user_id: int, session_id: str, fields: Mapping[str, str]) -> Session | None:
    """Build a Session from its stored hash; None when the record is gone or incomplete."""
    if not fields.get("csrf"):
        return None
    return Session(
        id=session_id, user_id=user_id, created_at=float(fields.get("created_at") or 0),
        seen_at=float(fields.get("seen_at") or 0), ip=fields.get("ip", ""), agent=fields.get("agent", ""),
        csrf=fields["csrf"], app=fields.get("app") or "web",
    )  # fmt: skip


async def create_session(
    store: Store, settings: Settings, secret: str, user_id: int, *, ip: str, agent: str, now: float, app: str = "web"
) -> IssuedSession:
    """Open a session of `app` (web | admin) for a signed-in user and return its token."""
    if app not in APPS:
        raise ValueError(f"unknown app {app!r}")
    ttl = session_ttl(settings)
    session = Session(
        id=secrets.token_urlsafe(16), user_id=user_id, created_at=now, seen_at=now, ip=ip[:MAX_IP_LENGTH],
        agent=agent[:MAX_AGENT_LENGTH], csrf=secrets.token_urlsafe(24), app=app,
    )  # fmt: skip
    record: dict[FieldT, EncodableT] = {
        "created_at": now,
        "seen_at": now,
        "ip": session.ip,
        "agent": session.agent,
        "csrf": session.csrf,
        "app": app,
    }
    key = store.keys.session(user_id, session.id)
    async with store.redis.pipeline(transaction=True) as pipe:  # same {u:ID} slot: one MULTI
        pipe.hset(key, mapping=record)
        pipe.expire(key, ttl)
        pipe.zadd(store.keys.sessions(user_id), {session.id: now + ttl})
        pipe.zremrangebyscore(store.keys.sessions(user_id), "-inf", now)  # forget expired ids
        pipe.zcard(store.keys.sessions(user_id))
        *_, count = await pipe.execute()
    if count > settings.MAX_SESSIONS_PER_USER:
        await _end_oldest(store, user_id, count - settings.MAX_SESSIONS_PER_USER, keep=session.id)
    return IssuedSession(encode_token(secret, user_id, session.id, now, ttl), session)


async def _end_oldest(store: Store, user_id: int, excess: int, keep: str) -> None:
    """End the `excess` sessions closest to expiring (the least recently renewed), never `keep`."""
    oldest = [str(sid) for sid in await store.redis.zrange(store.keys.sessions(user_id), 0, excess)]
    for session_id in [sid for sid in oldest if sid != keep][:excess]:
        await revoke_session(store, user_id, session_id)


async def touch_session(
    store: Store, settings: Settings, secret: str, session: Session, claims: TokenClaims, now: float
) -> str | None:
    """Note activity; when the token is over a day old, slide the expiry and return a fresh token."""
    slide = now - claims.issued_at >= REISSUE_AFTER_SECONDS
    if not slide and now - session.seen_at < SEEN_RESOLUTION_SECONDS:
        return None
    ttl = session_ttl(settings) if slide else 0
    keys = [store.keys.session(session.user_id, session.id), store.keys.sessions(session.user_id)]
    touched = await store.scripts.run("touch_session", keys, [now, session.id, ttl, now + ttl])
    if not (slide and touched):
        return None
    return encode_token(secret, session.user_id, session.id, now, ttl)


async def list_sessions(store: Store, user_id: int, now: float) -> list[Session]:
    """Return the user's live sessions, most recently seen first."""
    index = store.keys.sessions(user_id)
    session_ids = [str(sid) for sid in await store.redis.zrangebyscore(index, now, "+inf")]
    async with store.redis.pipeline(transaction=False) as pipe:
        for session_id in session_ids:
            pipe.hgetall(store.keys.session(user_id, session_id))
        records = await pipe.execute()
    sessions = [session_from_fields(user_id, sid, rec) for sid, rec in zip(session_ids, records, strict=True)]
    live = [session for session in sessions if session is not None]
    return sorted(live, key=lambda session: session.seen_at, reverse=True)


async def revoke_session(store: Store, user_id: int, session_id: str) -> bool:
    """End one session; say whether it existed."""
    async with store.redis.pipeline(transaction=True) as pipe:
        pipe.delete(store.keys.session(user_id, session_id))
        pipe.zrem(store.keys.sessions(user_id), session_id)
        deleted, _ = await pipe.execute()
    return bool(deleted)


async def revoke_sessions(store: Store, user_id: int, keep: str | None = None) -> int:
    """End every session of a user except `keep`; return how many ended."""
    index = store.keys.sessions(user_id)

    async def revoke(pipe: Pipeline) -> int:
        # WATCH on the index: a session opened meanwhile makes EXEC fail and the loop starts over.
        session_ids = [str(sid) for sid in await pipe.zrange(index, 0, -1)]
        doomed = [session_id for session_id in session_ids if session_id != keep]
        pipe.multi()
        if doomed:
            pipe.delete(*(store.keys.session(user_id, session_id) for session_id in doomed))
            pipe.zrem(index, *doomed)
        return len(doomed)

    revoked: int = await store.redis.transaction(revoke, index, value_from_callable=True)
    return revoked
