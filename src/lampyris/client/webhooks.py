"""Signing and checking lampyris' webhook events: the one place both sides share.

A server signs each delivery with its client's webhook secret; a receiver checks the
signature before it trusts the body. The header is ``X-Lampyris-Signature:
t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``: the timestamp is signed
with the body, so a captured delivery replayed later fails the age check. Pure standard
library, so a receiver needs nothing else of lampyris.

Usage:
    from lampyris.client import verify_webhook
    event = verify_webhook(secret, request.body, request.headers["X-Lampyris-Signature"])
    if seen(event["id"]): return 200   # deliveries repeat: at least once, never exactly once
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import Any

from lampyris.client.errors import ClientError

SIGNATURE_HEADER = "X-Lampyris-Signature"
EVENT_ID_HEADER = "X-Lampyris-Event-Id"
EVENT_TYPE_HEADER = "X-Lampyris-Event-Type"
# How old a signature may be: five minutes absorbs clock drift and a slow delivery while a
# recorded request stops working soon after. Retries are signed afresh, so they always pass.
TOLERANCE_SECONDS = 300.0


class WebhookSignatureError(ClientError):
    """A webhook delivery whose signature does not check out: not from the server holding
    the secret, altered on the way, or too old (a replay)."""

    status, code = 401, "webhook_signature_invalid"


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def signature(secret: str, timestamp: int, body: bytes | str) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    message = str(timestamp).encode() + b"." + _as_bytes(body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes | str, timestamp: int | None = None) -> str:
    """The ``X-Lampyris-Signature`` value for ``body`` sent now (or at ``timestamp``)."""
    moment = int(time.time()) if timestamp is None else timestamp
    return f"t={moment},v1={signature(secret, moment, body)}"


_STAMP = re.compile(r"[0-9]{1,12}")
_DIGEST = re.compile(r"[0-9a-f]{64}")


def _parse(header: str) -> tuple[int, list[str]]:
    stamp: int | None = None
    digests: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and _STAMP.fullmatch(value):  # ASCII digits only, never '²'
            stamp = int(value)
        elif name == "v1" and _DIGEST.fullmatch(value):  # what compare_digest can take
            digests.append(value)
    if stamp is None or not digests:
        raise WebhookSignatureError(
            f"malformed {SIGNATURE_HEADER} header: expected t=<unix seconds>,v1=<hex>")
    return stamp, digests


def verify_webhook(
    secret: str,
    body: bytes | str,
    header: str | None,
    *,
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> dict[str, Any]:
    """Check a delivery's ``X-Lampyris-Signature`` header against its raw body and return the
    event it carries; ``WebhookSignatureError`` when the header is missing or malformed, the
    signature does not match, or it is older than ``tolerance`` seconds (0: no age check).
    Pass the body exactly as received: a re-serialised JSON no longer matches."""
    if not header:
        raise WebhookSignatureError(f"no {SIGNATURE_HEADER} header: not a lampyris webhook")
    stamp, digests = _parse(header)
    expected = signature(secret, stamp, body)
    if not any(hmac.compare_digest(expected, digest) for digest in digests):
        raise WebhookSignatureError(
            "the webhook signature does not match: check the secret (lampyris clients add "
            "shows it once) and that the body is passed unchanged")
    age = (time.time() if now is None else now) - stamp
    if tolerance and abs(age) > tolerance:
        raise WebhookSignatureError(
            f"the webhook signature is {age:.0f} s old (more than {tolerance:g} s): a replay, "
            "or the receiver's clock is wrong")
    try:
        event: dict[str, Any] = json.loads(_as_bytes(body))
    except ValueError:
        raise WebhookSignatureError("the signed body is not JSON") from None
    return event
