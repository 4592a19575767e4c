"""D25: both signature schemes, both secret forms, rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from webhooks import signing

SECRET = "a" * 32 + "0123456789abcdef" * 2
OLD = "f" * 64
BODY = b'{"event":"webhook.test","delivery_id":"d-1"}'


def test_new_secret_is_64_lower_case_hex_256_bits():
    secret = signing.secret_new()
    assert len(secret) == 64
    assert secret == secret.lower()
    assert len(bytes.fromhex(secret)) == 32
    assert signing.secret_new() != secret


def test_standard_form_encodes_the_same_32_bytes():
    whsec = signing.standard_secret(SECRET)
    assert whsec.startswith("whsec_")
    assert base64.b64decode(whsec.removeprefix("whsec_")) == bytes.fromhex(SECRET)


def test_jopay_signature_is_hmac_of_t_dot_body_keyed_with_the_hex_text():
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256)
    assert signing.jopay_signature(SECRET, 1700000000, BODY) == expected.hexdigest()


def _headers(secrets, t=None):
    return signing.signature_headers(
        secrets_new_first=secrets,
        delivery_id="d-1",
        attempt=2,
        timestamp=t or int(time.time()),
        body=BODY,
    )


def test_headers_carry_both_schemes_and_the_attempt():
    t = int(time.time())
    headers = _headers([SECRET], t)
    sig = signing.jopay_signature(SECRET, t, BODY)
    assert headers["x-jopay-signature"] == f"v1={sig},t={t}"
    assert headers["x-jopay-delivery-attempt"] == "2"
    assert headers["webhook-id"] == "d-1"
    assert headers["webhook-timestamp"] == str(t)
    assert headers["User-Agent"] == "JoPay-Webhooks/1"
    assert headers["Content-Type"] == "application/json"


def test_standard_webhooks_library_verifies_our_signature():
    headers = _headers([SECRET])
    assert Webhook(signing.standard_secret(SECRET)).verify(BODY, headers) == {
        "event": "webhook.test",
        "delivery_id": "d-1",
    }


def test_standard_webhooks_library_rejects_a_tampered_body():
    headers = _headers([SECRET])
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.standard_secret(SECRET)).verify(BODY + b" ", headers)


def test_rotation_signs_with_both_secrets_new_first():
    t = int(time.time())
    headers = _headers([SECRET, OLD], t)
    new_sig = signing.jopay_signature(SECRET, t, BODY)
    old_sig = signing.jopay_signature(OLD, t, BODY)
    assert headers["x-jopay-signature"] == f"v1={new_sig},v1={old_sig},t={t}"
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (SECRET, OLD):
        assert signing.verify_jopay(headers["x-jopay-signature"], BODY, secret, now=t)
        Webhook(signing.standard_secret(secret)).verify(BODY, headers)
    assert not signing.verify_jopay(headers["x-jopay-signature"], BODY, "0" * 64, now=t)


@pytest.mark.parametrize("skew", [301, -301])
def test_verifier_rejects_stale_or_future_timestamps(skew):
    t = int(time.time())
    header = _headers([SECRET], t)["x-jopay-signature"]
    assert signing.verify_jopay(header, BODY, SECRET, now=t + 300)
    assert not signing.verify_jopay(header, BODY, SECRET, now=t + skew)


@pytest.mark.parametrize("stamp", ["\u00b2", "1\u0663", "9" * 5000, " ", ""])
def test_the_receiver_check_answers_no_to_a_junk_timestamp(stamp):
    """verify_jopay raised on a "²" (isdigit() is true, int() refuses it) and
    on 5 000 digits, instead of answering "no match"."""
    assert not signing.verify_jopay(f"t={stamp},v1=00", BODY, SECRET, now=0)
