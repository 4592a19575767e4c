"""A chain switched off while a proof is judged still owes its rescan (D19, D20, D21).

While a proof is attached the watcher passes the request over on every chain
it reads. When that proof ends in ``mismatch`` a rescan is owed on each of
those chains. A chain the operator switched off for a moment at that very time
(maintenance, a provider change) was left out: once back on, the watcher
carries on from its cursor, past the payment it had passed over, and the
request was never paid. A rescan row waits for a switched-off chain (the
retries of an outage), so the mismatch writes one for it too.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from payments.chain.registry import chain_enabled_set
from payments.chain.watcher import scan_chain
from payments.models import Chain, PaymentRequest, RequestRescan
from payments.proofs.services import proof_attach, proof_verify
from payments.proofs.services.rescans import rescan_args, rescans_schedule
from payments.proofs.tasks import rescan_request_task

from .conftest import (
    CHAIN_ID,
    PAYERS,
    event_types,
    json_rpc_server,
    mine,
    new_wallet,
    scan_local_chain,
    send_token,
)

pytestmark = pytest.mark.chain

PR = PaymentRequest


def _judged_while_off(pr, capture) -> None:
    """The chain is switched off (D19) while ``pr``'s wrong proof is checked:
    the check, already under way, ends in a mismatch meanwhile. The rescans
    it owes are written, their messages not sent."""
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=False)
    with capture(execute=False):
        assert proof_verify(request_id=pr.pk).reason == "wrong_recipient"


def _found_once_back_on(pr, tx: str) -> None:
    """The chain is back on: the watcher carries on from its cursor, past
    ``tx``; the owed rescan finds it and pays ``pr``."""
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=True)
    assert scan_local_chain().attached == []
    assert rescan_request_task.apply(args=rescan_args(pr.pk, CHAIN_ID)).get() == (
        "verified"
    )
    pr.refresh_from_db()
    assert (pr.status, pr.proof_status, pr.chain_id, pr.tx_hash) == (
        "paid",
        "verified",
        CHAIN_ID,
        tx,
    )


def test_a_mismatch_while_the_chain_is_switched_off_still_owes_its_rescan(
    cursor_at_head, anvil, w3, usdc, make_request, django_capture_on_commit_callbacks
):
    pr = make_request(usdc_micro=7_500_005)
    # The customer pastes a wrong hash (someone else's transfer), then pays.
    wrong = send_token(w3, usdc, payer=PAYERS[1], to=new_wallet(), value=5)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=wrong, source="customer")
    real = send_token(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=7_500_005
    )
    # The watcher passes the request over (its proof is attached) and moves on.
    assert scan_local_chain().attached == []
    mine(anvil, 5)
    scan_local_chain()
    _judged_while_off(pr, django_capture_on_commit_callbacks)

    # D20/D21: the rescan of this chain is owed all the same; it waits while
    # the chain is off …
    assert RequestRescan.objects.filter(request=pr, chain_id=CHAIN_ID).exists()
    assert rescan_request_task.apply(args=rescan_args(pr.pk, CHAIN_ID)).get() == (
        "rpc_unavailable"
    )
    # … and once the chain is back, it finds the payment the watcher passed over.
    _found_once_back_on(pr, real)
    assert event_types(pr)[-2:] == ["payment.proof_attached", "payment.proof_verified"]


def test_a_payment_freed_while_the_chain_is_switched_off_is_still_owed(
    refused_payment, django_capture_on_commit_callbacks
):
    # The watcher refused B's payment to it while A held the hash (D15, D20).
    a, b, tx = refused_payment
    _judged_while_off(a, django_capture_on_commit_callbacks)

    assert RequestRescan.objects.filter(request=b, chain_id=CHAIN_ID).exists()
    _found_once_back_on(b, tx)


def test_a_chain_of_the_other_mode_or_without_rpc_owes_nothing(
    local_chain, make_request
):
    # Only chains that could have paid the request: a live request's floors
    # never name the local chain, and a chain without RPC URLs is never read.
    live = make_request(test_mode=False)
    rescans_schedule(request=live, now=timezone.now(), floors={str(CHAIN_ID): 5})
    assert not RequestRescan.objects.filter(request=live).exists()
    local_chain.enabled, local_chain.rpc_urls = False, []
    local_chain.save()
    pr = make_request()
    rescans_schedule(request=pr, now=timezone.now(), floors={str(CHAIN_ID): 5})
    assert not RequestRescan.objects.filter(request=pr).exists()


def test_a_rescan_owed_on_a_switched_off_chain_goes_once_it_is_not_needed(
    local_chain, make_request
):
    # Owed on a chain that is off, then the request is paid (on another chain,
    # by a re-verify …): the row goes at once instead of retrying until the
    # runs-without-progress cap gives it up with an error.
    pr = make_request(proof_status=PR.ProofStatus.MISMATCH, tx_hash="0x" + "5e" * 32)
    rescans_schedule(request=pr, now=timezone.now(), floors={str(CHAIN_ID): 5})
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=False)
    PR.objects.filter(pk=pr.pk).update(status=PR.Status.CANCELLED)

    outcome = rescan_request_task.apply(args=rescan_args(pr.pk, CHAIN_ID)).get()

    assert outcome == "skipped"
    assert not RequestRescan.objects.filter(request=pr).exists()


# --- a chain off at the attach and at the verdict, on in between -------------------

OTHER_ID = 31338


@pytest.fixture
def proof_chain(local_chain, anvil, wrong_token):
    """A second local chain (31338) the proofs are pasted on: anvil behind a
    relay that answers its chain id, with ``wrong_token`` as its USDC, so the
    payments in ``usdc`` are found on ``local_chain`` only."""

    def answer(call: dict, raw: bytes) -> dict:
        if call["method"] == "eth_chainId":
            return {"jsonrpc": "2.0", "id": call["id"], "result": hex(OTHER_ID)}
        return requests.post(anvil.url, json=call, timeout=10).json()

    with json_rpc_server(answer) as url:
        yield Chain.objects.create(
            chain_id=OTHER_ID,
            name="Local relay",
            is_local=True,
            usdc_address=wrong_token.address,
            confirmations=1,
            rpc_urls=[url],
        )


def _wrong_proof_on_the_other_chain(w3, wrong_token, pr) -> None:
    wrong = send_token(w3, wrong_token, payer=PAYERS[1], to=new_wallet(), value=5)
    proof_attach(request=pr, chain_id=OTHER_ID, tx_hash=wrong, source="customer")


def test_a_chain_read_only_while_the_proof_held_the_request_is_owed(
    proof_chain,
    cursor_at_head,
    anvil,
    w3,
    usdc,
    wrong_token,
    make_request,
    django_capture_on_commit_callbacks,
):
    # Off when the wrong proof is pasted (on another chain): not in its floors.
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=False)
    pr = make_request(usdc_micro=7_600_006)
    _wrong_proof_on_the_other_chain(w3, wrong_token, pr)
    real = send_token(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=7_600_006
    )
    # On for a while: the watcher reads the payment's blocks and passes the
    # request over (its proof is attached) …
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=True)
    assert scan_local_chain().attached == []
    mine(anvil, 3)
    scan_local_chain()
    # … then off again when the proof is judged a mismatch.
    _judged_while_off(pr, django_capture_on_commit_callbacks)

    # D19-D21: owed on the chain the watcher read while the proof held the
    # request, though it was off at both ends.
    assert RequestRescan.objects.filter(request=pr, chain_id=CHAIN_ID).exists()
    _found_once_back_on(pr, real)


def test_a_chain_not_read_while_the_proof_held_the_request_owes_nothing(
    proof_chain,
    cursor_at_head,
    anvil,
    w3,
    wrong_token,
    make_request,
    django_capture_on_commit_callbacks,
):
    # Read before the proof (a minute before: past the clocks' slack),
    # switched on and off again while it held the request but never read
    # then: the watcher passed nothing over there.
    mine(anvil, 2)
    scan_chain(cursor_at_head, now=timezone.now() - timedelta(minutes=1))
    cursor_at_head.refresh_from_db()
    assert cursor_at_head.last_scanned_block == w3.eth.block_number
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=False)
    pr = make_request(usdc_micro=7_700_007)
    _wrong_proof_on_the_other_chain(w3, wrong_token, pr)
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=True)
    _judged_while_off(pr, django_capture_on_commit_callbacks)

    owed = RequestRescan.objects.filter(request=pr)
    assert list(owed.values_list("chain_id", flat=True)) == [OTHER_ID]


def test_a_chain_switched_off_while_a_rescan_reads_keeps_the_rescan_owed(
    cursor_at_head,
    anvil,
    w3,
    usdc,
    make_request,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    """Switched off while the rescan read: the payment it found was refused
    (``unsupported_chain``), the run ended ``not_found`` and the row went,
    so once the chain was back on nothing looked for the payment again."""
    from payments.chain import rescan

    pr = make_request(usdc_micro=7_300_077)
    proof_attach(
        request=pr, chain_id=CHAIN_ID, tx_hash="0x" + "5e" * 32, source="customer"
    )
    tx = send_token(w3, usdc, payer=PAYERS[1], to=pr.receiving_address, value=7_300_077)
    mine(anvil, 2)
    pr.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=False):
        proof_verify(request_id=pr.pk, now=pr.proof_attached_at + timedelta(minutes=31))
    assert RequestRescan.objects.filter(request=pr, chain_id=CHAIN_ID).exists()
    times = rescan.block_times

    def switched_off_now(*args, **kwargs):  # an operator's "disable" lands
        chain_enabled_set(chain_id=CHAIN_ID, enabled=False)
        return times(*args, **kwargs)

    monkeypatch.setattr(rescan, "block_times", switched_off_now)
    rescan_request_task.apply(args=rescan_args(pr.pk, CHAIN_ID))
    monkeypatch.setattr(rescan, "block_times", times)

    assert RequestRescan.objects.filter(request=pr, chain_id=CHAIN_ID).exists()
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=True)
    assert rescan_request_task.apply(args=rescan_args(pr.pk, CHAIN_ID)).get() == (
        "verified"
    )
    pr.refresh_from_db()
    assert (pr.proof_status, pr.tx_hash) == ("verified", tx)
