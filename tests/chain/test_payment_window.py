"""The payment window is judged by block time, both ends (D15, D16, D20).

A transfer mined before the request existed never pays it, whoever pastes or
finds it; a transfer mined on time pays the request even when the watcher
only gets to it after an outage longer than the grace.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jopay_project.errors import ErrorCode, JoPayError
from payments.chain.verify import CREATED_AT_SKEW
from payments.chain.watcher import scan_chain
from payments.models import Chain, PaymentRequest
from payments.proofs.services import proof_attach, proof_verify

from .conftest import CHAIN_ID, PAYERS, event_types, new_wallet, send_token

pytestmark = pytest.mark.chain

PR = PaymentRequest


def mined_at(w3, tx_hash: str) -> datetime:
    block = w3.eth.get_transaction_receipt(tx_hash)["blockNumber"]
    return datetime.fromtimestamp(w3.eth.get_block(block)["timestamp"], tz=UTC)


# -- lower bound: a transfer from before the request never pays it (D20) -------


@pytest.mark.parametrize(
    "value", [6_200_007, 9_000_000], ids=["old_deposit", "overpaid_other"]
)
def test_a_pasted_transfer_mined_before_the_request_existed_is_late(
    local_chain, w3, usdc, make_request, value
):
    # Given an earlier transfer to the merchant wallet: an old deposit of the
    # same amount, or another request's overpayment (value ≥ usdc_micro) …
    wallet = new_wallet()
    tx = send_token(w3, usdc, payer=PAYERS[0], to=wallet, value=value)
    block_at = mined_at(w3, tx)
    # … and a request created ten minutes after it was mined.
    pr = make_request(
        usdc_micro=6_200_007,
        receiving_address=wallet,
        created_at=block_at + timedelta(minutes=10),
        expires_at=block_at + timedelta(hours=1),
    )
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer")

    result = proof_verify(request_id=pr.pk)

    # D20's reasons are a closed set: `late` = outside the payment window.
    assert (result.outcome, result.reason) == ("mismatch", "late")
    pr.refresh_from_db()
    assert (pr.proof_status, pr.status) == ("mismatch", "requested")
    assert event_types(pr) == ["payment.proof_attached", "payment.proof_mismatch"]


@pytest.mark.parametrize(
    ("created_after_block", "outcome"),
    [
        (timedelta(seconds=0), "verified"),
        (timedelta(seconds=60), "verified"),  # our clock ahead of the chain's
        (CREATED_AT_SKEW, "verified"),
        (CREATED_AT_SKEW + timedelta(seconds=1), "mismatch"),
    ],
)
def test_clock_skew_allowance_at_the_lower_bound(
    local_chain, w3, usdc, make_request, created_after_block, outcome
):
    wallet = new_wallet()
    tx = send_token(w3, usdc, payer=PAYERS[1], to=wallet, value=6_300_009)
    block_at = mined_at(w3, tx)
    pr = make_request(
        usdc_micro=6_300_009,
        receiving_address=wallet,
        created_at=block_at + created_after_block,
        expires_at=block_at + timedelta(hours=1),
    )
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="merchant")

    assert proof_verify(request_id=pr.pk).outcome == outcome


def test_the_watcher_never_matches_a_transfer_from_before_the_request(
    cursor_at_head, w3, usdc, make_request
):
    wallet = new_wallet()
    tx = send_token(w3, usdc, payer=PAYERS[0], to=wallet, value=6_400_011)
    block_at = mined_at(w3, tx)
    pr = make_request(
        usdc_micro=6_400_011,
        receiving_address=wallet,
        created_at=block_at + timedelta(minutes=10),
        expires_at=block_at + timedelta(hours=1),
    )

    result = scan_chain(cursor_at_head)

    assert result.logs == 1  # the transfer was read …
    assert result.attached == []  # … and is not this request's payment
    pr.refresh_from_db()
    assert (pr.proof_status, pr.tx_hash) == ("none", None)
    assert event_types(pr) == []


def test_the_watcher_gives_an_old_transfer_to_the_request_it_was_for(
    cursor_at_head, w3, usdc, make_request
):
    # D15 frees a tag after the grace; a new request may reuse the amount. A
    # transfer found late belongs to the request that existed when it was mined.
    wallet = new_wallet()
    tx = send_token(w3, usdc, payer=PAYERS[0], to=wallet, value=6_500_013)
    block_at = mined_at(w3, tx)
    old = make_request(
        usdc_micro=6_500_013,
        receiving_address=wallet,
        created_at=block_at - timedelta(minutes=50),
        expires_at=block_at + timedelta(minutes=5),
        status=PR.Status.EXPIRED,
    )
    new = make_request(
        usdc_micro=6_500_013,
        receiving_address=wallet,
        created_at=block_at + timedelta(minutes=16),
        expires_at=block_at + timedelta(hours=2),
    )

    result = scan_chain(cursor_at_head, now=block_at + timedelta(minutes=20))

    assert result.attached == [str(old.pk)]
    new.refresh_from_db()
    assert new.proof_status == "none"


# -- catch-up after an outage: judged by block time, not the wall clock ---------


def test_catch_up_after_a_long_outage_pays_an_on_time_transfer(
    cursor_at_head, w3, usdc, make_request
):
    # Given a transfer mined a minute before the request expired …
    wallet = new_wallet()
    tx = send_token(w3, usdc, payer=PAYERS[2], to=wallet, value=6_600_017)
    block_at = mined_at(w3, tx)
    pr = make_request(
        usdc_micro=6_600_017,
        receiving_address=wallet,
        created_at=block_at - timedelta(minutes=30),
        expires_at=block_at + timedelta(minutes=1),
        status=PR.Status.EXPIRED,  # the expiry task ran meanwhile
        expired_at=block_at + timedelta(minutes=1),
    )

    # … when the watcher only reads that block two hours later (node down).
    result = scan_chain(cursor_at_head, now=block_at + timedelta(hours=2))

    # D20: never mismatch (nor miss) because the node was down; D16: expired →
    # paid when a proof within the grace verifies late.
    assert result.attached == [str(pr.pk)]
    assert result.verified == [str(pr.pk)]
    pr.refresh_from_db()
    assert (pr.proof_status, pr.status) == ("verified", "paid")
    assert (pr.proof_source, pr.tx_hash) == ("trails_on_chain", tx)
    assert event_types(pr) == ["payment.proof_attached", "payment.proof_verified"]
    assert Chain.objects.get(pk=CHAIN_ID).last_scanned_block == w3.eth.block_number


def test_a_customer_still_cannot_paste_a_hash_after_the_grace(
    local_chain, w3, usdc, make_request
):
    wallet = new_wallet()
    tx = send_token(w3, usdc, payer=PAYERS[2], to=wallet, value=6_700_019)
    block_at = mined_at(w3, tx)
    pr = make_request(
        usdc_micro=6_700_019,
        receiving_address=wallet,
        created_at=block_at - timedelta(minutes=30),
        expires_at=block_at + timedelta(minutes=1),
        status=PR.Status.EXPIRED,
    )
    after_grace = pr.proof_deadline + timedelta(seconds=1)

    # D16: proofs are accepted until expires_at + grace, by the wall clock …
    with pytest.raises(JoPayError) as info:
        proof_attach(
            request=pr,
            chain_id=CHAIN_ID,
            tx_hash=tx,
            source="customer",
            now=after_grace,
        )
    assert info.value.code == ErrorCode.PROOF_NOT_ACCEPTED
    # … and only the watcher may have the window judged at block time: an
    # earlier time from anyone else is ignored.
    with pytest.raises(JoPayError) as info:
        proof_attach(
            request=pr,
            chain_id=CHAIN_ID,
            tx_hash=tx,
            source="customer",
            now=after_grace,
            window_at=block_at,
        )
    assert info.value.code == ErrorCode.PROOF_NOT_ACCEPTED
    pr.refresh_from_db()
    assert pr.proof_status == "none"


def test_the_page_never_says_an_old_transfer_was_sent_after_expiry(
    client, local_chain, w3, usdc, make_request
):
    # D20 `late` also means "mined before the request existed" (an old deposit
    # pasted on a page that is still open). The page said "it was sent after
    # the request expired" next to "Awaiting payment": untrue, and the customer
    # had no idea what was wrong with the hash.
    wallet = new_wallet()
    tx = send_token(w3, usdc, payer=PAYERS[0], to=wallet, value=6_600_015)
    block_at = mined_at(w3, tx)
    pr = make_request(
        usdc_micro=6_600_015,
        receiving_address=wallet,
        created_at=block_at + timedelta(minutes=10),
        expires_at=block_at + timedelta(hours=1),
    )
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    assert proof_verify(request_id=pr.pk).reason == "late"

    html = client.get(f"/pay/{pr.pk}").content.decode()

    assert "Awaiting payment" in html  # the request is still open …
    assert "after the request expired" not in html  # … so this is not why
    assert "it was not sent while this request was open for payment" in html
    assert "You can submit another one" in html
