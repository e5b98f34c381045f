"""The CSV `chatgate codes generate` prints, and the expiry it accepts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from core.billing.redemption import CodeBatch, format_code
from core.errors import InvalidInput

CSV_HEADER = ("code", "batch", "kind", "plan", "days", "reset_chances", "expires_at")


def parse_expiry(text: str) -> float:
    """Read `2027-01-01` (00:00 UTC that day) or an ISO 8601 time (UTC when it names no offset)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"--expires {text!r} is not a date like 2027-01-01.", field="expires") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _iso(seconds: int | None) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if seconds else ""


def batch_csv(batch: CodeBatch) -> str:
    """One line per code, with a header; the only copy of the codes (the store keeps their digests)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for code in batch.codes:
        writer.writerow((format_code(code), batch.id, batch.kind, batch.plan or "", batch.days or "",
                         batch.reset_chances or "", _iso(batch.expires_at)))  # fmt: skip
    return out.getvalue()
