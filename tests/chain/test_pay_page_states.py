"""What the pay page offers in each state, and the proof endpoint's limits (D16, D22,
D27, D32), over the Django test client. The script's side is in
``test_pay_page_live.py``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jopay_project.formats import iso
from payments.models import PaymentRequest
from payments.models.requests import PROOF_GRACE
from payments.proofs.services import proof_attach, proof_verify

from .conftest import CHAIN_ID, PAYERS, send_token
from .pay_browser import config_of

pytestmark = pytest.mark.chain

PR = PaymentRequest
HASH_A = "0x" + "a1" * 32
HASH_B = "0x" + "b2" * 32
GRACE_HEADING = "Already paid before it expired?"


def html_of(client, pr) -> str:
    return client.get(f"/pay/{pr.pk}").content.decode()


def post_proof(client, pr, body, ip="10.9.0.1"):
    return client.post(
        f"/pay/{pr.pk}/proof", body, content_type="application/json", REMOTE_ADDR=ip
    )


# --- the deadline (D16) -----------------------------------------------------------


def test_open_page_shows_the_deadline_and_gives_the_script_both_ends(
    client, local_chain, make_request
):
    pr = make_request(expires_in=timedelta(minutes=30))

    html = html_of(client, pr)

    assert "Pay before" in html
    assert f'datetime="{iso(pr.expires_at)}"' in html
    assert pr.expires_at.strftime("%Y-%m-%d %H:%M") + " UTC" in html
    assert 'data-testid="countdown"' in html
    assert "2. Already paid?" in html
    assert GRACE_HEADING not in html
    config = config_of(html)
    assert config["state"] == "open"
    assert config["expires_at"] == iso(pr.expires_at)
    assert config["proof_deadline"] == iso(pr.expires_at + PROOF_GRACE)
    assert config["now"] is not None


def test_grace_page_takes_a_hash_and_says_until_when(client, local_chain, make_request):
    pr = make_request(status=PR.Status.EXPIRED, expires_in=-timedelta(minutes=2))

    html = html_of(client, pr)

    assert GRACE_HEADING in html
    assert 'id="pay-proof"' in html
    assert "Pay with browser wallet" not in html
    assert "please do not send funds now" in html
    assert f'datetime="{iso(pr.proof_deadline)}"' in html
    assert config_of(html)["state"] == "grace"


# --- a proof being checked (D16, D32) ------------------------------------------------


def test_verifying_page_offers_no_second_hash_on_an_unexpired_request(
    client, local_chain, make_request
):
    pr = make_request()
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=HASH_A, source="customer")

    html = html_of(client, pr)

    assert "Verifying payment…" in html
    assert "checking it on-chain" in html
    assert 'id="pay-proof"' not in html
    assert GRACE_HEADING not in html
    assert "Pay with browser wallet" not in html
    assert config_of(html)["state"] == "verifying"


def test_a_second_hash_while_one_is_checked_is_refused_with_a_truthful_message(
    client, local_chain, make_request
):
    pr = make_request()
    assert (
        post_proof(client, pr, {"tx_hash": HASH_A, "chain_id": CHAIN_ID}).status_code
        == 202
    )

    response = post_proof(client, pr, {"tx_hash": HASH_B, "chain_id": CHAIN_ID})

    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "proof_not_accepted"
    assert body["proof_status"] == "attached"
    assert body["message"] == "A transaction is already being checked for this request."


def test_a_closed_request_still_answers_the_plain_proof_not_accepted(
    client, local_chain, make_request
):
    pr = make_request(status=PR.Status.EXPIRED, expires_in=-timedelta(hours=1))

    body = post_proof(client, pr, {"tx_hash": HASH_A, "chain_id": CHAIN_ID}).json()

    assert body["error"] == "proof_not_accepted"
    assert "proof_status" not in body


# --- a mismatched proof --------------------------------------------------------------


def _mismatched(w3, usdc, make_request, **fields):
    pr = make_request(usdc_micro=9_000_001, **fields)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=1_000_000)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    assert proof_verify(request_id=pr.pk).outcome == "mismatch"
    pr.refresh_from_db()
    return pr, tx


def test_mismatch_on_an_open_request_says_why_and_takes_another_hash(
    client, local_chain, w3, usdc, make_request
):
    pr, tx = _mismatched(w3, usdc, make_request)

    html = html_of(client, pr)

    assert tx in html
    # An underpayment reached the merchant: the customer is sent to them, not
    # invited to pay again; the form stays for a hash of a separate payment.
    assert "sent less than this request asks for" in html
    assert "Please contact" in html
    assert "You can submit another one." not in html
    assert 'id="pay-proof"' in html
    assert "2. Already paid?" in html
    config = config_of(html)
    assert (config["proof_status"], config["tx_hash"], config["mismatch_reason"]) == (
        "mismatch",
        tx,
        "underpaid",
    )


def test_mismatch_after_the_grace_offers_nothing(
    client, local_chain, w3, usdc, make_request
):
    pr, tx = _mismatched(w3, usdc, make_request)
    PR.objects.filter(pk=pr.pk).update(
        status=PR.Status.EXPIRED, expires_at=timezone.now() - timedelta(hours=1)
    )

    html = html_of(client, pr)

    assert tx in html
    assert "sent less than this request asks for" in html
    assert 'id="pay-proof"' not in html
    assert "has expired" in html


# --- D27: 10/h per request, charged for well-formed submissions only ------------------


@pytest.mark.parametrize(
    "junk",
    [
        {"tx_hash": "0x1", "chain_id": CHAIN_ID},
        {"chain_id": CHAIN_ID},
        {"tx_hash": HASH_A},
        {"tx_hash": HASH_A, "chain_id": "eth"},
        # Well-formed, but a chain the request's mode does not take.
        {"tx_hash": HASH_A, "chain_id": 999_999},
        {"tx_hash": HASH_A, "chain_id": 1},
    ],
    ids=[
        "bad_hash",
        "no_hash",
        "no_chain",
        "chain_not_a_number",
        "unknown_chain",
        "other_mode_chain",
    ],
)
def test_junk_posts_do_not_use_up_the_request_counter(
    client, local_chain, make_request, frozen_clock, junk
):
    pr = make_request()
    # Given 12 malformed posts from several addresses (anyone holding the link) …
    codes = {
        post_proof(client, pr, junk, ip=f"10.9.1.{n % 4}").status_code
        for n in range(12)
    }
    assert codes == {400}

    # … the customer's own hash is still taken.
    response = post_proof(client, pr, {"tx_hash": HASH_A, "chain_id": CHAIN_ID})
    assert response.status_code == 202


def test_well_formed_posts_are_limited_to_10_per_hour_per_request(
    client, local_chain, make_request, frozen_clock
):
    pr = make_request()
    hashes = ["0x" + f"{n:02x}" * 32 for n in range(11)]

    codes = [
        post_proof(
            client, pr, {"tx_hash": h, "chain_id": CHAIN_ID}, ip=f"10.9.2.{n}"
        ).status_code
        for n, h in enumerate(hashes)
    ]

    # The first attaches, the next nine are refused while it is checked, all count.
    assert codes == [202] + [409] * 9 + [429]


def test_junk_still_counts_against_the_per_ip_limit(
    client, local_chain, make_request, frozen_clock
):
    pr = make_request()
    for _ in range(60):
        assert (
            post_proof(client, pr, {"tx_hash": "0x1", "chain_id": CHAIN_ID}).status_code
            == 400
        )

    limited = post_proof(client, pr, {"tx_hash": HASH_A, "chain_id": CHAIN_ID})

    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    # Another address is not affected.
    assert (
        post_proof(
            client, pr, {"tx_hash": HASH_A, "chain_id": CHAIN_ID}, ip="10.9.3.1"
        ).status_code
        == 202
    )
