"""Webhook secrets and signatures (D25).

Two signature schemes ride on every delivery:

* ``x-jopay-signature: v1=<hex>,t=<unix>`` — lower-case hex HMAC-SHA256 of
  ``"<t>.<raw body>"`` keyed with the UTF-8 bytes of the 64-character hex
  secret (what most receivers naturally do with the string they copy).
* Standard Webhooks — ``webhook-id`` / ``webhook-timestamp`` /
  ``webhook-signature: v1,<base64>`` over ``"<id>.<t>.<body>"`` keyed with the
  32 raw bytes the hex secret encodes; the same secret in that library's
  ``whsec_<base64>`` form.

During a rotation both secrets sign, new first, in both headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SIGNATURE_HEADER = "x-jopay-signature"
ATTEMPT_HEADER = "x-jopay-delivery-attempt"
USER_AGENT = "JoPay-Webhooks/1"
TOLERANCE_SECONDS = 300  # D25: receivers reject |now - t| > 300 s


def secret_new() -> str:
    """A fresh 256-bit secret as 64 lower-case hex characters."""
    return secrets.token_hex(32)


def standard_secret(hex_secret: str) -> str:
    """The same secret in Standard Webhooks' ``whsec_<base64>`` form."""
    return "whsec_" + base64.b64encode(bytes.fromhex(hex_secret)).decode()


def jopay_signature(hex_secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(hex_secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


def standard_signature(
    hex_secret: str, msg_id: str, timestamp: int, body: bytes
) -> str:
    mac = hmac.new(
        bytes.fromhex(hex_secret),
        f"{msg_id}.{timestamp}.".encode() + body,
        hashlib.sha256,
    )
    return base64.b64encode(mac.digest()).decode()


def signature_headers(
    *,
    secrets_new_first: Sequence[str],
    delivery_id: str,
    attempt: int,
    timestamp: int,
    body: bytes,
) -> dict[str, str]:
    """Every header of one attempt except transport ones (D24, D25)."""
    jopay = ",".join(
        f"v1={jopay_signature(s, timestamp, body)}" for s in secrets_new_first
    )
    standard = " ".join(
        f"v1,{standard_signature(s, delivery_id, timestamp, body)}"
        for s in secrets_new_first
    )
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: f"{jopay},t={timestamp}",
        ATTEMPT_HEADER: str(attempt),
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard,
    }


def verify_jopay(
    header: str,
    body: bytes,
    hex_secret: str,
    *,
    now: int,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """Receiver-side ``x-jopay-signature`` check (any ``v1`` entry, constant time)."""
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v for k, v in parts if k.strip() == "t"]
    stamp = stamps[0].strip() if len(stamps) == 1 else ""
    # ASCII digits, and few of them: "²" passes isdigit() and int() refuses
    # it, as it refuses over 4 300 digits.
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) < 16):
        return False
    timestamp = int(stamp)
    if abs(now - timestamp) > tolerance:
        return False
    expected = jopay_signature(hex_secret, timestamp, body)
    return any(
        hmac.compare_digest(v.strip(), expected) for k, v in parts if k.strip() == "v1"
    )
