"""Redemption codes as the dashboard makes and manages them: a batch created (its codes shown once, never stored:
only their digests are), a batch's codes with who redeemed each and when, and disabling what is left of a batch.
Creating and disabling are written to the audit log (never the codes themselves)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.billing.redemption import CodeBatch, format_code, generate_codes
from core.billing.redemption_admin import CodeStatus, batch_codes, batch_from_fields, disable_batch, list_batches
from core.errors import InvalidInput, NotFound
from core.site.audit import Actor, record_audit
from core.store.connection import Store


@dataclass(frozen=True)
class BatchView:
    batch: CodeBatch
    disabled: bool
    used: int

    def public(self) -> dict[str, Any]:
        b = self.batch
        return {
            "id": b.id, "kind": b.kind, "plan": b.plan, "days": b.days, "reset_chances": b.reset_chances,
            "count": b.count, "expires_at": b.expires_at, "created_at": b.created_at, "note": b.note,
            "disabled": self.disabled, "used": self.used,
        }  # fmt: skip


def parse_expiry(value: object) -> float | None:
    """Read an expiry: none, unix seconds, `2027-01-01` (00:00 UTC that day) or an ISO 8601 time (UTC if no offset)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        raise InvalidInput("expires_at is a date like 2027-01-01.", field="expires_at")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput("expires_at is a date like 2027-01-01.", field="expires_at") from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


async def create_batch(
    store: Store, actor: Actor, *, plan: str | None, days: int | None, reset_chances: int | None, count: int,
    expires_at: object = None, note: str = "", now: float,
) -> CodeBatch:  # fmt: skip
    """Generate a batch (a plan for some days, or reset chances); return it with its codes (shown only now)."""
    batch = await generate_codes(
        store, plan=plan, days=days, reset_chances=reset_chances, count=count, expires_at=parse_expiry(expires_at),
        note=note, now=now,
    )  # fmt: skip
    await record_audit(store, actor, "codes.create", f"batch:{batch.id}", None,
                       BatchView(batch, False, 0).public(), now)  # fmt: skip
    return batch


def codes_of(batch: CodeBatch) -> list[str]:
    """Return a new batch's codes as printed (ABCD-EFGH-JKMN-PQRS)."""
    return [format_code(code) for code in batch.codes]


async def _view(store: Store, batch: CodeBatch) -> BatchView:
    flag = await store.redis.hget(store.keys.redemption_batch(batch.id), "disabled")
    codes = await batch_codes(store, batch.id)
    return BatchView(batch, flag == "1", sum(code.status == "used" for code in codes))


async def batches(store: Store, offset: int = 0, limit: int = 50) -> list[BatchView]:
    """Return batches newest first, with how many codes were used and whether the batch was disabled."""
    return [await _view(store, batch) for batch in await list_batches(store, offset, limit)]


async def batch_detail(store: Store, batch_id: str) -> tuple[BatchView, list[CodeStatus]]:
    """Return a batch and each of its codes: its hint, status, and who redeemed it when."""
    fields: dict[str, str] = await store.redis.hgetall(store.keys.redemption_batch(batch_id))  # type: ignore[assignment]
    if not fields.get("id"):
        raise NotFound("No such batch.")
    return await _view(store, batch_from_fields(fields)), await batch_codes(store, batch_id)


async def disable_batch_audited(store: Store, actor: Actor, batch_id: str, now: float) -> int:
    """Disable every unused code of a batch; return how many were disabled."""
    view, _ = await batch_detail(store, batch_id)
    disabled = await disable_batch(store, batch_id)
    await record_audit(store, actor, "codes.disable", f"batch:{batch_id}", view.public(),
                       {**view.public(), "disabled": True, "codes_disabled": disabled}, now)  # fmt: skip
    return disabled
