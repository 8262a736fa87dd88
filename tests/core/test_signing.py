"""core.signing: the one ``t=…,v1=…`` HMAC signer/verifier (dev gateway, tracking webhooks)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from core.signing import (
    MalformedSignature,
    SignatureMismatch,
    StaleSignature,
    sign_payload,
    verify_signature,
)

SECRET = "whsec-test"
BODY = b'{"event_id": "e1", "status": "in_transit"}'
NOW = 1_700_000_000


def test_header_is_hmac_sha256_of_timestamp_dot_body():
    header = sign_payload(secret=SECRET, body=BODY, timestamp=NOW)
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},v1={expected}"


def test_valid_signature_returns_its_timestamp():
    header = sign_payload(secret=SECRET, body=BODY, timestamp=NOW)
    assert verify_signature(secret=SECRET, body=BODY, header=header, tolerance=300, now=NOW) == NOW
    # spaces after the comma are tolerated, as some senders add them
    spaced = header.replace(",", ", ")
    assert verify_signature(secret=SECRET, body=BODY, header=spaced, tolerance=300, now=NOW) == NOW


@pytest.mark.parametrize(
    ("body", "secret", "header_edit"),
    [
        (BODY.replace(b"in_transit", b"delivered"), SECRET, None),
        (BODY, "another-secret", None),
        (BODY, SECRET, ("t=1700000000", "t=1700000001")),
        (BODY, SECRET, ("v1=", "v1=00")),
        (BODY, "", None),
    ],
    ids=["tampered-body", "wrong-secret", "moved-timestamp", "changed-mac", "no-secret"],
)
def test_tampered_signature_is_a_mismatch(body, secret, header_edit):
    header = sign_payload(secret=SECRET, body=BODY, timestamp=NOW)
    if header_edit:
        header = header.replace(*header_edit)
    with pytest.raises(SignatureMismatch):
        verify_signature(secret=secret, body=body, header=header, tolerance=300, now=NOW)


@pytest.mark.parametrize("offset", [301, -301])
def test_stale_or_future_timestamp_is_refused(offset):
    header = sign_payload(secret=SECRET, body=BODY, timestamp=NOW)
    with pytest.raises(StaleSignature) as caught:
        verify_signature(secret=SECRET, body=BODY, header=header, tolerance=300, now=NOW + offset)
    assert caught.value.reason == "stale"


def test_timestamp_at_the_edge_of_the_window_is_accepted():
    header = sign_payload(secret=SECRET, body=BODY, timestamp=NOW)
    assert (
        verify_signature(secret=SECRET, body=BODY, header=header, tolerance=300, now=NOW + 300)
        == NOW
    )


@pytest.mark.parametrize(
    "header",
    ["", "garbage", "t=abc,v1=00", "v1=00", f"t={NOW}", f"t={NOW};v1=00", "t=,v1="],
)
def test_malformed_header_is_refused(header):
    with pytest.raises(MalformedSignature) as caught:
        verify_signature(secret=SECRET, body=BODY, header=header, tolerance=300, now=NOW)
    assert caught.value.reason == "malformed"


def test_non_ascii_mac_is_a_mismatch_not_a_crash():
    with pytest.raises(SignatureMismatch):
        verify_signature(secret=SECRET, body=BODY, header=f"t={NOW},v1=é", tolerance=300, now=NOW)


def test_signing_without_a_secret_is_an_error():
    with pytest.raises(ValueError, match="secret"):
        sign_payload(secret="", body=BODY, timestamp=NOW)
