"""Tencent Cloud API signature v3 (TC3-HMAC-SHA256), shared by TMS moderation and Tencent SMS.

Protocol: shared/docs/PROTOCOLS.md section 2. Only `content-type` and `host` are signed, as the official SDKs do.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

ALGORITHM = "TC3-HMAC-SHA256"
SIGNED_HEADERS = "content-type;host"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def tc3_signature(secret_key: str, service: str, host: str, content_type: str, payload: bytes, timestamp: int) -> str:
    """Return the hex signature of one POST / request."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = (
        f"POST\n/\n\ncontent-type:{content_type}\nhost:{host}\n\n{SIGNED_HEADERS}\n"
        + hashlib.sha256(payload).hexdigest()
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"{ALGORITHM}\n{timestamp}\n{scope}\n" + hashlib.sha256(canonical.encode()).hexdigest()
    k_date = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    k_signing = _hmac(_hmac(k_date, service), "tc3_request")
    return hmac.new(k_signing, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def tc3_headers(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    action: str,
    version: str,
    region: str,
    payload: bytes,
    timestamp: int,
    content_type: str = "application/json; charset=utf-8",
) -> dict[str, str]:
    """Return the full header set of a signed Tencent Cloud API call."""
    signature = tc3_signature(secret_key, service, host, content_type, payload, timestamp)
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    authorization = (
        f"{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, "
        f"SignedHeaders={SIGNED_HEADERS}, Signature={signature}"
    )
    headers = {
        "Authorization": authorization,
        "Content-Type": content_type,
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Version": version,
        "X-TC-Timestamp": str(timestamp),
    }
    if region:
        headers["X-TC-Region"] = region
    return headers
