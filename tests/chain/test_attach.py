"""proof_attach rules (D16, D19, D20): codes, idempotency, one request per hash."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from payments.models import Chain, PaymentRequest
from payments.proofs.services import proof_attach, proof_verify

from .conftest import CHAIN_ID, PAYERS, event_types, send_token

pytestmark = pytest.mark.chain

PR = PaymentRequest
HASH_A = "0x" + "a1" * 32
HASH_B = "0x" + "b2" * 32


def attach(pr, tx_hash=HASH_A, chain_id=CHAIN_ID, **kw):
    return proof_attach(
        request=pr, chain_id=chain_id, tx_hash=tx_hash, source="customer", **kw
    )


def code_of(fn, *args, **kw) -> str:
    with pytest.raises(JoPayError) as info:
        fn(*args, **kw)
    return str(info.value.code)


@pytest.mark.parametrize(
    "bad",
    [None, "", "0x1234", "a1" * 32, "0x" + "g1" * 32, "0x" + "a1" * 33, 12, ["0x"]],
)
def test_malformed_tx_hash_is_invalid_tx_hash(local_chain, make_request, bad):
    pr = make_request()
    assert code_of(attach, pr, tx_hash=bad) == ErrorCode.INVALID_TX_HASH
    pr.refresh_from_db()
    assert pr.proof_status == PR.ProofStatus.NONE
    assert event_types(pr) == []


def test_hash_is_stored_lower_case(local_chain, make_request):
    pr = make_request()
    attached = attach(pr, tx_hash="0x" + "AB" * 32)
    assert attached.tx_hash == "0x" + "ab" * 32


def test_live_request_cannot_use_a_local_chain(local_chain, make_request):
    # D19: live mode accepts mainnets only.
    pr = make_request(test_mode=False)
    assert code_of(attach, pr) == ErrorCode.UNSUPPORTED_CHAIN


@pytest.mark.parametrize("chain_id", [999_999, "abc", None, True, 1])
def test_unknown_or_unconfigured_chain_is_unsupported(
    local_chain, make_request, chain_id, seeded_chains
):
    # chain 1 (Ethereum) is seeded by the migration but has no RPC URLs (D19).
    pr = make_request(test_mode=False) if chain_id == 1 else make_request()
    assert code_of(attach, pr, chain_id=chain_id) == ErrorCode.UNSUPPORTED_CHAIN


def test_disabled_chain_is_unsupported(local_chain, make_request):
    Chain.objects.filter(pk=CHAIN_ID).update(enabled=False)
    assert code_of(attach, make_request()) == ErrorCode.UNSUPPORTED_CHAIN


def test_chain_id_may_be_a_digit_string(local_chain, make_request):
    assert attach(make_request(), chain_id=str(CHAIN_ID)).chain_id == CHAIN_ID


@pytest.mark.parametrize(
    "fields",
    [
        {"status": PR.Status.CANCELLED},
        {"status": PR.Status.PAID, "proof_status": PR.ProofStatus.VERIFIED},
        {"expires_in": -timedelta(minutes=11)},  # past expires_at + 10 min grace
    ],
)
def test_request_that_no_longer_accepts_proofs(local_chain, make_request, fields):
    pr = make_request(**fields)
    assert code_of(attach, pr) == ErrorCode.PROOF_NOT_ACCEPTED


def test_expired_request_accepts_a_proof_within_grace(local_chain, make_request):
    pr = make_request(expires_in=-timedelta(minutes=9), status=PR.Status.EXPIRED)
    assert attach(pr).proof_status == PR.ProofStatus.ATTACHED


def test_same_hash_again_is_idempotent_without_a_second_event(
    local_chain, make_request
):
    pr = make_request()
    first = attach(pr)
    again = attach(pr, tx_hash=HASH_A.upper().replace("0X", "0x"))
    assert again.proof_attached_at == first.proof_attached_at
    assert event_types(pr) == ["payment.proof_attached"]


def test_another_hash_while_attached_is_not_accepted(local_chain, make_request):
    pr = make_request()
    attach(pr)
    assert code_of(attach, pr, tx_hash=HASH_B) == ErrorCode.PROOF_NOT_ACCEPTED


def test_hash_proving_another_request_is_already_used(local_chain, make_request):
    first, second = make_request(), make_request()
    attach(first)

    assert code_of(attach, second) == ErrorCode.PROOF_ALREADY_USED
    second.refresh_from_db()
    assert second.proof_status == PR.ProofStatus.NONE
    assert event_types(second) == []


def test_attach_moves_a_mismatch_back_to_attached(local_chain, make_request):
    pr = make_request(
        proof_status=PR.ProofStatus.MISMATCH,
        chain_id=CHAIN_ID,
        tx_hash=HASH_B,
        mismatch_reason="underpaid",
    )
    attached = attach(pr)
    assert attached.proof_status == PR.ProofStatus.ATTACHED
    assert attached.mismatch_reason is None
    assert attached.proof_source == "customer"
    assert attached.next_verify_at is not None


def test_a_mismatched_hash_frees_itself_for_another_request(
    local_chain, w3, usdc, make_request
):
    # D20: the hash ended in mismatch on A (wrong recipient) …
    a = make_request(usdc_micro=2_000_001)
    b = make_request(usdc_micro=2_000_001)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=b.receiving_address, value=2_000_001)
    attach(a, tx_hash=tx)
    assert proof_verify(request_id=a.pk).reason == "wrong_recipient"

    # … so B may use it, and A may even re-attach it later.
    attach(b, tx_hash=tx)
    assert proof_verify(request_id=b.pk).outcome == "verified"
    assert code_of(attach, a, tx_hash=tx) == ErrorCode.PROOF_ALREADY_USED


def test_failed_attach_in_an_outer_transaction_leaves_it_usable(
    local_chain, make_request
):
    # The unique-index failure happens in a savepoint: the watcher's chunk
    # transaction carries on after it.
    from django.db import transaction

    first, second, third = make_request(), make_request(), make_request()
    with transaction.atomic():
        attach(first)
        with pytest.raises(JoPayError):
            attach(second)
        attach(third, tx_hash=HASH_B)
    assert PR.objects.filter(proof_status="attached").count() == 2


def test_attach_records_time_and_schedules_verification(local_chain, make_request):
    now = timezone.now()
    pr = attach(make_request(), now=now)
    assert pr.proof_attached_at == now
    assert pr.next_verify_at == now
    assert pr.verify_attempts == 0
