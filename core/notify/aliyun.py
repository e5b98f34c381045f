"""Alibaba Cloud OpenAPI signature V3 (ACS3-HMAC-SHA256), as used by Dysms SendSms.

Protocol: shared/docs/PROTOCOLS.md section 5. Canonical request =
method, path, sorted RFC 3986 query, `name:value` lines of the sorted lowercase signed headers, the signed header
names joined by `;`, hex sha256 of the body; string-to-sign = algorithm + hex sha256 of that; the signature is
hex HMAC-SHA256 keyed by the AccessKey secret. Every x-acs-* header and host are signed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from urllib.parse import quote

ALGORITHM = "ACS3-HMAC-SHA256"


def percent_encode(value: str) -> str:
    """Encode like Aliyun: UTF-8, only A-Z a-z 0-9 - _ . ~ left as is, space as %20."""
    return quote(value, safe="")


def canonical_query(params: Mapping[str, str]) -> str:
    """Return the query string sorted by name and RFC 3986 encoded; it is also what goes on the wire."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def canonical_request(
    method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], payload_hash: str
) -> str:
    """Build the canonical request of the signed `headers` (lowercase names)."""
    names = sorted(headers)
    lines = "".join(f"{name}:{headers[name].strip()}\n" for name in names)
    return "\n".join([method, path, canonical_query(query), lines, ";".join(names), payload_hash])


def acs3_signature(secret: str, canonical: str) -> str:
    """Return the hex signature of a canonical request."""
    to_sign = f"{ALGORITHM}\n" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def acs3_date(timestamp: float) -> str:
    """Format x-acs-date: ISO 8601 UTC to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def acs3_headers(
    *,
    access_key_id: str,
    access_key_secret: str,
    host: str,
    action: str,
    version: str,
    query: Mapping[str, str],
    timestamp: float,
    body: bytes = b"",
    nonce: str | None = None,
) -> dict[str, str]:
    """Return the signed headers (Authorization included) of one POST / call; `host` must be the host sent."""
    payload_hash = hashlib.sha256(body).hexdigest()
    signed = {
        "host": host,
        "x-acs-action": action,
        "x-acs-content-sha256": payload_hash,
        "x-acs-date": acs3_date(timestamp),
        "x-acs-signature-nonce": nonce or secrets.token_hex(16),
        "x-acs-version": version,
    }
    signature = acs3_signature(access_key_secret, canonical_request("POST", "/", query, signed, payload_hash))
    authorization = (
        f"{ALGORITHM} Credential={access_key_id},SignedHeaders={';'.join(sorted(signed))},Signature={signature}"
    )
    return {**signed, "Authorization": authorization}
