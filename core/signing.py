"""One signer/verifier for our ``t=<unix seconds>,v1=<hex>`` webhook signature headers.

``v1 = HMAC-SHA256(secret, "<t>." + raw body)``, the scheme Stripe uses. The timestamp is
signed with the body, so a captured delivery cannot be replayed outside ``tolerance``
seconds. Used by the dev payment gateway (``commerce/payments/dev_gateway.py``) and the
carrier tracking webhooks (``commerce/services/logistics.py``); each caller turns the
errors below into its own error type.
"""

from __future__ import annotations

import hashlib
import hmac
import time


class SignatureError(ValueError):
    """A signature header that does not verify; ``reason`` says why, as a code."""

    reason = "invalid"


class MalformedSignature(SignatureError):
    reason = "malformed"


class SignatureMismatch(SignatureError):
    reason = "mismatch"


class StaleSignature(SignatureError):
    reason = "stale"


def sign_payload(*, secret: str, body: bytes, timestamp: int) -> str:
    """The header value ``t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``."""
    if not secret:
        raise ValueError("A signing secret is required")
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    *, secret: str, body: bytes, header: str, tolerance: float, now: float | None = None
) -> int:
    """Check ``header`` against ``body``; return the signed timestamp.

    Raises MalformedSignature (not ``t=…,v1=…``), SignatureMismatch (wrong secret or a
    changed body/timestamp; compared in constant time) or StaleSignature (timestamp more
    than ``tolerance`` seconds from ``now``, in either direction). An empty secret verifies
    nothing (SignatureMismatch), so an unconfigured receiver refuses every delivery.
    """
    if not secret:
        raise SignatureMismatch("No signing secret configured")
    try:
        parts = dict(item.strip().split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        received = parts["v1"]
    except (ValueError, KeyError, AttributeError) as error:
        raise MalformedSignature("Malformed signature header") from error
    expected = sign_payload(secret=secret, body=body, timestamp=timestamp)
    if not hmac.compare_digest(expected.encode(), f"t={timestamp},v1={received}".encode()):
        raise SignatureMismatch("Signature does not match")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise StaleSignature("Signature timestamp is outside the tolerance window")
    return timestamp
