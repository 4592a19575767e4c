"""D20 over- and underpayment arithmetic on a real node, up to uint256 values.

A transfer's ``value`` is a uint256: a token whose owner mints freely (any
``local`` chain's test USDC, D19) can send far more than the BIGINT columns
(``usdc_micro``, ``overpaid_micro``) hold. Such a transfer must get a verdict
like any other, never an ``OverflowError`` that leaves the proof ``attached``
for ever (D16: an attached proof never expires, nor can it be cancelled).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from payments.models import PaymentRequest
from payments.proofs.services import proof_attach, proof_verify

from .conftest import CHAIN_ID, DEPLOYER, PAYERS, new_wallet, send_token

pytestmark = pytest.mark.chain

PR = PaymentRequest
BIGINT_MAX = 2**63 - 1
UINT256_MAX = 2**256 - 1
AMOUNT = 10_000_001


def pay(w3, usdc, pr, value: int, *, to: str | None = None) -> str:
    tx = usdc.functions.mint(PAYERS[0], value).transact({"from": DEPLOYER})
    w3.eth.wait_for_transaction_receipt(tx)
    return send_token(
        w3, usdc, payer=PAYERS[0], to=to or pr.receiving_address, value=value
    )


def attach(pr, tx_hash):
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx_hash, source="customer")


@pytest.mark.parametrize("value", [2**63, 2**63 + AMOUNT, 2**200, UINT256_MAX // 2])
def test_a_transfer_beyond_the_bigint_range_is_an_overpayment(
    local_chain, w3, usdc, make_request, value
):
    """D20: more than the amount is accepted and recorded; the record holds
    what the column can (overpaid_micro saturates), the evidence the exact
    value, and the portal reads the exact difference from the evidence."""
    pr = make_request(usdc_micro=AMOUNT)
    attach(pr, pay(w3, usdc, pr, value))

    assert proof_verify(request_id=pr.pk).outcome == "verified"

    pr.refresh_from_db()
    assert (pr.status, pr.proof_status) == (PR.Status.PAID, PR.ProofStatus.VERIFIED)
    assert pr.evidence["value_micro"] == str(value)
    assert pr.received_micro == value
    assert pr.overpaid_micro == min(value - AMOUNT, BIGINT_MAX)


def test_the_portal_shows_the_exact_overpayment_beyond_the_bigint_range(
    local_chain, w3, usdc, make_request
):
    from merchants.portal.present import request_row
    from payments.money import format_usdc

    pr = make_request(usdc_micro=AMOUNT)
    attach(pr, pay(w3, usdc, pr, 2**70))
    proof_verify(request_id=pr.pk)
    pr.refresh_from_db()

    row = request_row(pr)

    assert row["received"] == format_usdc(2**70)
    assert row["overpaid"] == format_usdc(2**70 - AMOUNT)


def test_a_huge_transfer_to_another_wallet_is_wrong_recipient(
    local_chain, w3, usdc, make_request
):
    """The mismatch looks for other requests awaiting the transaction's
    transfers (D15, D20): an amount no BIGINT holds awaits nothing."""
    pr = make_request(usdc_micro=AMOUNT)
    attach(pr, pay(w3, usdc, pr, 2**100, to=new_wallet()))

    result = proof_verify(request_id=pr.pk)

    assert (result.outcome, result.reason) == ("mismatch", "wrong_recipient")
    pr.refresh_from_db()
    assert pr.proof_status == PR.ProofStatus.MISMATCH


@settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    value=st.one_of(
        st.integers(min_value=1, max_value=3 * AMOUNT),
        # Each example mints its value: 2**250 leaves the supply room for all.
        st.integers(min_value=BIGINT_MAX - AMOUNT, max_value=2**250),
    )
)
@example(value=AMOUNT - 1)
@example(value=AMOUNT)
@example(value=AMOUNT + 1)
@example(value=BIGINT_MAX + AMOUNT)
@example(value=BIGINT_MAX + AMOUNT + 1)
def test_the_verdict_follows_the_value(local_chain, w3, usdc, make_request, value):
    """Below the amount → underpaid; the amount or more → verified, with
    ``overpaid_micro`` the difference (saturated at the column's maximum)."""
    pr = make_request(usdc_micro=AMOUNT)
    attach(pr, pay(w3, usdc, pr, value))

    result = proof_verify(request_id=pr.pk)

    pr.refresh_from_db()
    if value < AMOUNT:
        assert (result.outcome, result.reason) == ("mismatch", "underpaid")
        assert pr.overpaid_micro == 0
    else:
        assert result.outcome == "verified"
        assert pr.overpaid_micro == min(value - AMOUNT, BIGINT_MAX)
        assert int(pr.evidence["value_micro"]) == value
