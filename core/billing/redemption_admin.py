"""Redemption codes for operators: listing batches and their codes' status, disabling a code or a whole batch.

The dashboard (and the CLI) read these; codes themselves are never stored, so a code is shown by its hint (its
last four characters) and addressed by typing it in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.billing.redemption import CodeBatch, code_digest, normalize_code
from core.errors import InvalidRedemptionCode, NotFound
from core.store.connection import Store


@dataclass(frozen=True)
class CodeStatus:
    hint: str
    status: str  # new | used | disabled
    used_by: int | None
    used_at: int | None

    def public(self) -> dict[str, Any]:
        return {"hint": self.hint, "status": self.status, "used_by": self.used_by, "used_at": self.used_at}


def batch_from_fields(fields: dict[str, str]) -> CodeBatch:
    return CodeBatch(
        id=fields["id"], kind="reset_chances" if fields.get("kind") == "reset_chances" else "plan",
        plan=fields.get("plan") or None, days=int(fields.get("days") or 0),
        reset_chances=int(fields.get("reset_chances") or 0), count=int(fields.get("count") or 0),
        expires_at=int(fields.get("expires_at") or 0) or None, created_at=int(fields.get("created_at") or 0),
        note=fields.get("note", ""),
    )  # fmt: skip


async def list_batches(store: Store, offset: int = 0, limit: int = 50) -> list[CodeBatch]:
    """Return batches, newest first."""
    ids = await store.redis.zrevrange(store.keys.redemption_batches(), offset, offset + limit - 1)
    async with store.redis.pipeline(transaction=False) as pipe:
        for batch_id in ids:
            pipe.hgetall(store.keys.redemption_batch(str(batch_id)))
        rows = await pipe.execute()
    return [batch_from_fields(row) for row in rows if row]


async def batch_codes(store: Store, batch_id: str) -> list[CodeStatus]:
    """Return the status of every code of a batch, in generation order."""
    digests = await store.redis.zrange(store.keys.redemption_batch_codes(batch_id), 0, -1)
    if not digests:
        raise NotFound("No such batch.")
    async with store.redis.pipeline(transaction=False) as pipe:
        for digest in digests:
            pipe.hmget(store.keys.redemption_code(str(digest)), ["hint", "status", "used_by", "used_at"])
        rows = await pipe.execute()
    return [_code_status(*row) for row in rows]


def _code_status(hint: str | None, status: str | None, used_by: str | None, used_at: str | None) -> CodeStatus:
    return CodeStatus(hint=hint or "", status=status or "", used_by=int(used_by) if used_by else None,
                      used_at=int(used_at) if used_at else None)  # fmt: skip


async def disable_code(store: Store, code: str) -> None:
    """Disable one unused code (typed in full); a used, disabled or unknown code -> InvalidRedemptionCode."""
    key = store.keys.redemption_code(code_digest(normalize_code(code)))
    if not await store.scripts.run("transition_status", [key], ["new", "disabled"]):
        raise InvalidRedemptionCode("Only an unused code can be disabled.")


async def disable_batch(store: Store, batch_id: str) -> int:
    """Disable every unused code of a batch; return how many were disabled."""
    digests = await store.redis.zrange(store.keys.redemption_batch_codes(batch_id), 0, -1)
    if not digests:
        raise NotFound("No such batch.")
    disabled = 0
    for digest in digests:
        disabled += int(await store.scripts.run("transition_status", [store.keys.redemption_code(str(digest))],
                                                ["new", "disabled"]))  # fmt: skip
    await store.redis.hset(store.keys.redemption_batch(batch_id), "disabled", 1)
    return disabled
