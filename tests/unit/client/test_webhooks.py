"""``lampyris.client.verify_webhook``: what a receiver trusts, and what it refuses."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from lampyris.client import WebhookSignatureError, verify_webhook
from lampyris.client.webhooks import signature_header

SECRET = "whsec_test"
BODY = json.dumps({"id": "evt_1", "type": "job.succeeded", "job": {"id": "j"}}).encode()
NOW = 1_800_000_000


def test_a_signed_body_verifies_and_gives_the_event():
    header = signature_header(SECRET, BODY, NOW)
    assert verify_webhook(SECRET, BODY, header, now=NOW + 10)["id"] == "evt_1"
    assert verify_webhook(SECRET, BODY.decode(), header, now=NOW)["type"] == "job.succeeded"


def test_the_header_is_the_documented_hmac():
    """Any language can check it: hex HMAC-SHA256 of "<t>.<body>" under the secret."""
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature_header(SECRET, BODY, NOW) == f"t={NOW},v1={expected}"


def test_one_matching_signature_of_several_is_enough():
    """While a secret is rotated, a sender may sign with the old and the new one."""
    good = signature_header(SECRET, BODY, NOW).split(",")[1]
    header = f"t={NOW},v1={'0' * 64},{good}"
    assert verify_webhook(SECRET, BODY, header, now=NOW)["id"] == "evt_1"


@pytest.mark.parametrize(("secret", "body", "header", "now", "words"), [
    ("wrong", BODY, signature_header(SECRET, BODY, NOW), NOW, "does not match"),
    (SECRET, BODY.replace(b"succeeded", b"failed"), signature_header(SECRET, BODY, NOW), NOW,
     "does not match"),
    (SECRET, BODY, signature_header(SECRET, BODY, NOW), NOW + 301, "301 s old"),
    (SECRET, BODY, signature_header(SECRET, BODY, NOW), NOW - 400, "old"),
    (SECRET, BODY, None, NOW, "no X-Lampyris-Signature header"),
    (SECRET, BODY, "v1=abc", NOW, "malformed"),
    (SECRET, BODY, f"t={NOW}", NOW, "malformed"),
    (SECRET, b"not json", signature_header(SECRET, b"not json", NOW), NOW, "not JSON"),
])
def test_refusals_say_why(secret: str, body: bytes, header: str | None, now: int, words: str):
    with pytest.raises(WebhookSignatureError, match=words) as caught:
        verify_webhook(secret, body, header, now=now)
    assert caught.value.status == 401 and "\n" not in str(caught.value)


def test_no_age_check_with_tolerance_zero():
    header = signature_header(SECRET, BODY, NOW)
    assert verify_webhook(SECRET, BODY, header, tolerance=0, now=NOW + 10**6)["id"] == "evt_1"


@pytest.mark.parametrize("header", [
    "t=\u00b2,v1=" + "0" * 64,  # a digit to isdigit(), not to int()
    "t=" + "9" * 5000 + ",v1=" + "0" * 64,  # past int()'s digit limit
    "t=1700000000,v1=" + "\u00e9" * 64,  # compare_digest takes ASCII only
    "t=1700000000,v1=abc",  # not a SHA-256 hex digest
])
def test_a_malformed_header_is_a_signature_error_never_a_crash(header: str):
    with pytest.raises(WebhookSignatureError, match="malformed"):
        verify_webhook("whsec_x", b"{}", header, now=1700000000)
