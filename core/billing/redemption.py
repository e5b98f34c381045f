"""Redemption codes (卡密): batches of single-use codes that add plan time or reset chances.

A code is 16 characters of an unambiguous alphabet, shown as ``ABCD-EFGH-JKMN-PQRS`` (80 random bits). Only its
sha256 digest is stored (``rcode:<digest>``: what it gives, expiry, status new | used | disabled), so a copy of the
store does not leak spendable codes: the CSV printed at generation is the only copy of the codes themselves.

Redeeming is two atomic steps in two hash slots (a code is global, the time belongs to the user): the code is
claimed for the user (Lua CLAIM_REDEMPTION_CODE: of two users redeeming one code at once exactly one wins), then
applied to the user once (Lua APPLY_REDEMPTION, idempotent by digest; plan time goes through the purchase rule of
core.billing.purchases). A process that dies between the two leaves the code claimed by that user, and the user's
next attempt finishes it. Wrong codes are throttled like sign-in attempts: per account and per IP, counted before
the check, given back on success.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from redis.typing import EncodableT, FieldT

from core.accounts.users import require_user
from core.billing.plans import FREE_PLAN, cached_plans
from core.billing.purchases import list_value, rate_args
from core.billing.subscriptions import Subscription, index_plan_users, parse_subscription
from core.days import SECONDS_PER_DAY
from core.errors import InvalidInput, InvalidRedemptionCode, NotFound, TooManyAttempts
from core.settings import Settings
from core.store.connection import Store

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read off cards and retyped
CODE_LENGTH = 16
MAX_BATCH = 10_000
MAX_DAYS = 3660
MAX_RESET_CHANCES = 1_000
_SEPARATORS = re.compile(r"[\s\-_]+")
Kind = Literal["plan", "reset_chances"]


@dataclass(frozen=True)
class Redemption:
    """What redeeming a code added: plan time (`plan`, `days`, and the resulting subscription and its end) or
    reset chances (`reset_chances`, and how many the account has now)."""

    kind: Kind
    plan: str | None
    days: int
    reset_chances: int
    ends_at: int | None
    subscription: Subscription | None
    code_hint: str
    redeemed_at: float
    reset_chances_after: int | None = None

    def public(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "plan": self.plan, "days": self.days, "reset_chances": self.reset_chances,
            "ends_at": self.ends_at, "starts_at": self.subscription.starts_at if self.subscription else None,
            "mode": self.subscription.mode if self.subscription else None, "code_hint": self.code_hint,
            "redeemed_at": self.redeemed_at, "reset_chances_after": self.reset_chances_after,
        }  # fmt: skip


@dataclass(frozen=True)
class CodeBatch:
    """A generated batch; `codes` holds the codes themselves only right after generation."""

    id: str
    kind: Kind
    plan: str | None
    days: int
    reset_chances: int
    count: int
    expires_at: int | None
    created_at: int
    note: str = ""
    codes: tuple[str, ...] = ()


def format_code(raw: str) -> str:
    """Group a code in fours for printing: ABCD-EFGH-JKMN-PQRS."""
    return "-".join(raw[index : index + 4] for index in range(0, len(raw), 4))


def normalize_code(code: str) -> str:
    """Return the 16 code characters (case, spaces and dashes ignored), or raise InvalidInput for a malformed code."""
    compact = _SEPARATORS.sub("", code or "").upper()
    if len(compact) != CODE_LENGTH or any(char not in ALPHABET for char in compact):
        raise InvalidInput("A redemption code is 16 letters and digits, like ABCD-EFGH-JKMN-PQRS.", field="code")
    return compact


def code_digest(normalized: str) -> str:
    return hashlib.sha256(normalized.encode()).hexdigest()


def _hint(normalized: str) -> str:
    return f"…{normalized[-4:]}"


async def _check_grant(store: Store, plan: str | None, days: int | None, reset_chances: int | None) -> Kind:
    if (plan is None) == (reset_chances is None):
        raise InvalidInput("A batch gives either a plan and days, or reset chances.", field="plan")
    if reset_chances is not None:
        if not 0 < reset_chances <= MAX_RESET_CHANCES:
            raise InvalidInput(f"reset chances must be 1..{MAX_RESET_CHANCES}.", field="reset_chances")
        return "reset_chances"
    if plan == FREE_PLAN or plan not in await cached_plans(store):
        raise NotFound(f"There is no paid plan named {plan!r}.")
    if days is None or not 0 < days <= MAX_DAYS:
        raise InvalidInput(f"days must be 1..{MAX_DAYS}.", field="days")
    return "plan"


async def generate_codes(
    store: Store, *, plan: str | None = None, days: int | None = None, reset_chances: int | None = None,
    count: int, expires_at: float | None = None, note: str = "", now: float,
) -> CodeBatch:  # fmt: skip
    """Create a batch of `count` single-use codes giving `plan` for `days`, or `reset_chances`; return the codes."""
    kind = await _check_grant(store, plan, days, reset_chances)
    if not 0 < count <= MAX_BATCH:
        raise InvalidInput(f"count must be 1..{MAX_BATCH}.", field="count")
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("The expiry must be in the future.", field="expires")
    batch = CodeBatch(
        id=secrets.token_hex(6), kind=kind, plan=plan if kind == "plan" else None, days=days or 0,
        reset_chances=reset_chances or 0, count=count, expires_at=int(expires_at) if expires_at else None,
        created_at=int(now), note=note[:200],
        codes=tuple("".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)) for _ in range(count)),
    )  # fmt: skip
    await _write_batch(store, batch)
    return batch


def _batch_fields(batch: CodeBatch) -> dict[FieldT, EncodableT]:
    return {
        "id": batch.id, "kind": batch.kind, "plan": batch.plan or "", "days": batch.days,
        "reset_chances": batch.reset_chances, "count": batch.count, "expires_at": batch.expires_at or 0,
        "created_at": batch.created_at, "note": batch.note, "disabled": 0,
    }  # fmt: skip


async def _write_batch(store: Store, batch: CodeBatch) -> None:
    keys = store.keys
    fields = _batch_fields(batch)
    common: dict[FieldT, EncodableT] = {
        name: fields[name] for name in ("kind", "plan", "days", "reset_chances", "expires_at", "created_at")
    }
    for start in range(0, len(batch.codes), 500):  # bounded pipelines for big batches
        async with store.redis.pipeline(transaction=False) as pipe:
            for index, code in enumerate(batch.codes[start : start + 500], start):
                digest = code_digest(code)
                pipe.hset(keys.redemption_code(digest),
                          mapping={**common, "batch": batch.id, "status": "new", "hint": _hint(code)})  # fmt: skip
                pipe.zadd(keys.redemption_batch_codes(batch.id), {digest: index})
            await pipe.execute()
    async with store.redis.pipeline(transaction=False) as pipe:
        pipe.hset(keys.redemption_batch(batch.id), mapping=fields)
        pipe.zadd(keys.redemption_batches(), {batch.id: batch.created_at})
        await pipe.execute()


async def _take_attempt(store: Store, settings: Settings, keys_and_limits: Sequence[tuple[str, int]]) -> list[str]:
    taken: list[str] = []
    for key, limit in keys_and_limits:
        counted, value = await store.scripts.run("take_attempt", [key], [settings.LOGIN_FAIL_WINDOW_SECONDS, limit])
        if not counted:
            for earlier in taken:
                await store.scripts.run("return_attempt", [earlier])
            raise TooManyAttempts(retry_after=max(1, int(value)))
        taken.append(key)
    return taken


def _pairs(flat: Sequence[Any]) -> dict[str, str]:
    return {str(flat[index]): str(flat[index + 1]) for index in range(0, len(flat), 2)}


async def redeem_code(
    store: Store, settings: Settings, user_id: int, code: str, *, now: float, ip: str | None = None
) -> Redemption:
    """Redeem a code for a user: InvalidInput (malformed), InvalidRedemptionCode (wrong, used, disabled or
    expired), TooManyAttempts (too many wrong codes from this account or IP), NotFound (no such user)."""
    normalized = normalize_code(code)
    await require_user(store, user_id)
    limits = [(store.keys.redeem_fails_user(user_id), settings.REDEEM_MAX_FAILS)]
    if ip:
        limits.append((store.keys.redeem_fails_ip(ip), settings.REDEEM_MAX_FAILS_PER_IP))
    taken = await _take_attempt(store, settings, limits)
    digest = code_digest(normalized)
    plans = await cached_plans(store)
    stored_plan = await store.redis.hget(store.keys.redemption_code(digest), "plan")
    if stored_plan and stored_plan not in plans:  # the plan was deleted since: keep the code unspent
        raise InvalidRedemptionCode("The plan this code gives no longer exists.")
    outcome, flat = await store.scripts.run("claim_redemption_code", [store.keys.redemption_code(digest)],
                                            [user_id, int(now)])  # fmt: skip
    if outcome not in ("claimed", "mine"):
        raise InvalidRedemptionCode()
    created, record = await _apply(store, settings, user_id, digest, _pairs(flat), normalized, now)
    if not created:  # this user had redeemed it already
        raise InvalidRedemptionCode()
    for key in taken:
        await store.scripts.run("return_attempt", [key])
    return _redemption(record)


async def _apply(
    store: Store, settings: Settings, user_id: int, digest: str, fields: dict[str, str], normalized: str, now: float
) -> tuple[bool, dict[str, Any]]:
    plans = await cached_plans(store)
    kind = fields.get("kind", "plan")
    plan = plans.get(fields.get("plan", ""))
    days = int(fields.get("days") or 0)
    seconds = days * SECONDS_PER_DAY
    record = {
        "kind": kind, "plan": fields.get("plan") or None, "days": days,
        "reset_chances": int(fields.get("reset_chances") or 0), "code_hint": _hint(normalized),
        "batch": fields.get("batch", ""), "redeemed_at": int(now),
    }  # fmt: skip
    keys = store.keys
    created, raw = await store.scripts.run(
        "apply_redemption", [keys.redemptions(user_id), keys.subscriptions(user_id), keys.user(user_id)],
        [digest, orjson.dumps(record), int(now), seconds or 1, list_value(plan, seconds, settings) if plan else 0,
         secrets.token_hex(8), FREE_PLAN, *rate_args(plans, settings)],
    )  # fmt: skip
    if created and kind == "plan":
        await index_plan_users(store, user_id)  # who holds time on which plan (a plan in use is not deleted)
    return bool(created), orjson.loads(raw)


def _redemption(record: dict[str, Any]) -> Redemption:
    subscription = parse_subscription(orjson.dumps(record["subscription"])) if record.get("subscription") else None
    after = record.get("reset_chances_after")
    return Redemption(
        kind="reset_chances" if record.get("kind") == "reset_chances" else "plan", plan=record.get("plan") or None,
        days=int(record.get("days") or 0), reset_chances=int(record.get("reset_chances") or 0),
        ends_at=subscription.ends_at if subscription else None, subscription=subscription,
        code_hint=str(record.get("code_hint", "")), redeemed_at=float(record.get("redeemed_at") or 0),
        reset_chances_after=int(after) if after is not None else None,
    )  # fmt: skip


async def list_redemptions(store: Store, user_id: int | str) -> list[Redemption]:
    """Return the codes a user redeemed, newest first."""
    raw = await store.redis.hvals(store.keys.redemptions(user_id))
    return sorted((_redemption(orjson.loads(item)) for item in raw), key=lambda r: r.redeemed_at, reverse=True)
