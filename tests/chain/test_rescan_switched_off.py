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
    send_token,
)

pytestmark = pytest.mark.chain

PR = PaymentRequest


def _scan():
    return scan_chain(Chain.objects.get(pk=CHAIN_ID))


def test_a_mismatch_while_the_chain_is_switched_off_still_owes_its_rescan(
    local_chain, anvil, w3, usdc, make_request, django_capture_on_commit_callbacks
):
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    pr = make_request(usdc_micro=7_500_005)
    # The customer pastes a wrong hash (someone else's transfer), then pays.
    wrong = send_token(w3, usdc, payer=PAYERS[1], to=new_wallet(), value=5)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=wrong, source="customer")
    real = send_token(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=7_500_005
    )
    # The watcher passes the request over (its proof is attached) and moves on.
    assert _scan().attached == []
    mine(anvil, 5)
    _scan()
    # The operator switches the chain off for a moment; the wrong proof's
    # check (already under way) ends in a mismatch meanwhile.
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=False)
    with django_capture_on_commit_callbacks(execute=False):
        assert proof_verify(request_id=pr.pk).reason == "wrong_recipient"

    # D20/D21: the rescan of this chain is owed all the same; it waits while
    # the chain is off …
    assert RequestRescan.objects.filter(request=pr, chain_id=CHAIN_ID).exists()
    assert rescan_request_task.apply(args=rescan_args(pr.pk, CHAIN_ID)).get() == (
        "rpc_unavailable"
    )
    # … and once the chain is back, it finds the payment the watcher passed over.
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=True)
    _scan()
    assert rescan_request_task.apply(args=rescan_args(pr.pk, CHAIN_ID)).get() == (
        "verified"
    )
    pr.refresh_from_db()
    assert (pr.status, pr.proof_status, pr.tx_hash) == ("paid", "verified", real)
    assert event_types(pr)[-2:] == ["payment.proof_attached", "payment.proof_verified"]


def test_a_payment_freed_while_the_chain_is_switched_off_is_still_owed(
    local_chain, anvil, w3, usdc, make_request, django_capture_on_commit_callbacks
):
    # B is paid exactly in tx; someone pastes tx on A's pay page first, so the
    # watcher refuses it to B (A holds the hash) and moves on (D15, D20).
    local_chain.confirmations = 3
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    a = make_request(usdc_micro=3_000_001)
    b = make_request(usdc_micro=4_000_002)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=b.receiving_address, value=4_000_002)
    proof_attach(request=a, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    assert _scan().attached == []
    mine(anvil, 3)
    _scan()
    # The chain is switched off while A's check is under way (D19).
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=False)
    with django_capture_on_commit_callbacks(execute=False):
        assert proof_verify(request_id=a.pk).reason == "wrong_recipient"

    assert RequestRescan.objects.filter(request=b, chain_id=CHAIN_ID).exists()
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=True)
    assert rescan_request_task.apply(args=rescan_args(b.pk, CHAIN_ID)).get() == (
        "verified"
    )
    b.refresh_from_db()
    assert (b.status, b.proof_status, b.tx_hash) == ("paid", "verified", tx)


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
    local_chain,
    anvil,
    w3,
    usdc,
    wrong_token,
    make_request,
    django_capture_on_commit_callbacks,
):
    # Off when the wrong proof is pasted (on another chain): not in its floors.
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=False)
    pr = make_request(usdc_micro=7_600_006)
    _wrong_proof_on_the_other_chain(w3, wrong_token, pr)
    real = send_token(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=7_600_006
    )
    # On for a while: the watcher reads the payment's blocks and passes the
    # request over (its proof is attached) …
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=True)
    assert _scan().attached == []
    mine(anvil, 3)
    _scan()
    # … then off again when the proof is judged a mismatch.
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=False)
    with django_capture_on_commit_callbacks(execute=False):
        assert proof_verify(request_id=pr.pk).reason == "wrong_recipient"

    # D19-D21: owed on the chain the watcher read while the proof held the
    # request, though it was off at both ends.
    assert RequestRescan.objects.filter(request=pr, chain_id=CHAIN_ID).exists()
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=True)
    assert rescan_request_task.apply(args=rescan_args(pr.pk, CHAIN_ID)).get() == (
        "verified"
    )
    pr.refresh_from_db()
    assert (pr.status, pr.proof_status, pr.chain_id, pr.tx_hash) == (
        "paid",
        "verified",
        CHAIN_ID,
        real,
    )


def test_a_chain_not_read_while_the_proof_held_the_request_owes_nothing(
    proof_chain,
    local_chain,
    anvil,
    w3,
    wrong_token,
    make_request,
    django_capture_on_commit_callbacks,
):
    # Read before the proof (a minute before: past the clocks' slack),
    # switched on and off again while it held the request but never read
    # then: the watcher passed nothing over there.
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    mine(anvil, 2)
    scan_chain(local_chain, now=timezone.now() - timedelta(minutes=1))
    local_chain.refresh_from_db()
    assert local_chain.last_scanned_block == w3.eth.block_number
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=False)
    pr = make_request(usdc_micro=7_700_007)
    _wrong_proof_on_the_other_chain(w3, wrong_token, pr)
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=True)
    assert chain_enabled_set(chain_id=CHAIN_ID, enabled=False)
    with django_capture_on_commit_callbacks(execute=False):
        assert proof_verify(request_id=pr.pk).reason == "wrong_recipient"

    owed = RequestRescan.objects.filter(request=pr)
    assert list(owed.values_list("chain_id", flat=True)) == [OTHER_ID]
