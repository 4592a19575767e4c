"""POST /api/v1/requests/<id>/reverify (D35) and the proof tasks (beat names)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from jopay_project.errors import JoPayError
from payments.chain.devnode import free_port
from payments.models import Chain, PaymentRequest
from payments.proofs.services import proof_attach
from payments.proofs.tasks import (
    RECHECK_LEASE,
    recheck_attached_proofs,
    verify_proof_task,
)
from webhooks.models import WebhookEvent

from .conftest import CHAIN_ID, PAYERS, json_rpc_server, rpc_error, send_token

pytestmark = pytest.mark.chain

PR = PaymentRequest


def url(pr) -> str:
    return f"/api/v1/requests/{pr.pk}/reverify"


@pytest.fixture
def paid_attached(local_chain, w3, usdc, make_request):
    pr = make_request(usdc_micro=6_000_013)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=6_000_013)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="merchant")
    return pr


def _fail_all_but_chain_id(call: dict, raw: bytes) -> dict:
    """A node that knows its chain id and fails every other call."""
    if call["method"] == "eth_chainId":
        return {"jsonrpc": "2.0", "id": call["id"], "result": hex(CHAIN_ID)}
    return rpc_error(call, -32000, "internal error")


@pytest.fixture
def erroring_rpc():
    with json_rpc_server(_fail_all_but_chain_id) as url:
        yield url


def test_reverify_verifies_now_and_answers_the_request_shape(api_test, paid_attached):
    response = api_test.post(url(paid_attached))

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["request_id"] == str(paid_attached.pk)
    assert body["proof_status"] == "verified"
    assert body["status"] == "paid"
    assert body["proof_source"] == "merchant"
    assert body["payer_address"] == PAYERS[0]


def test_reverify_with_the_node_down_is_503_and_the_proof_stays(
    api_test, paid_attached, local_chain
):
    local_chain.rpc_urls = [f"http://127.0.0.1:{free_port()}"]
    local_chain.save()

    response = api_test.post(url(paid_attached))

    assert response.status_code == 503
    assert response.json()["error"] == "rpc_unavailable"
    paid_attached.refresh_from_db()
    assert paid_attached.proof_status == "attached"
    assert paid_attached.verify_attempts == 1


def test_reverify_when_the_node_errors_is_500_rpc_error(
    api_test, paid_attached, local_chain, erroring_rpc
):
    local_chain.rpc_urls = [erroring_rpc]
    local_chain.save()

    response = api_test.post(url(paid_attached))

    assert response.status_code == 500
    assert response.json()["error"] == "rpc_error"
    assert "127.0.0.1" not in response.content.decode()  # no RPC URL leaks
    paid_attached.refresh_from_db()
    assert paid_attached.proof_status == "attached"


def test_reverify_rejudges_a_mismatch_with_the_same_hash(
    api_test, local_chain, anvil, w3, usdc, make_request
):
    pr = make_request(usdc_micro=6_100_013)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=6_100_013)
    # e.g. a lagging node made it time out: recorded as mismatch.
    PR.objects.filter(pk=pr.pk).update(
        proof_status="mismatch",
        chain_id=CHAIN_ID,
        tx_hash=tx,
        proof_source="customer",
        mismatch_reason="not_found_after_timeout",
    )

    body = api_test.post(url(pr)).json()

    assert body["proof_status"] == "verified"
    assert body["mismatch_reason"] is None
    assert list(
        WebhookEvent.objects.filter(request_id=pr.pk)
        .order_by("sequence")
        .values_list("type", flat=True)
    ) == ["payment.proof_attached", "payment.proof_verified"]


def test_reverify_rejudges_a_mismatch_attached_in_time_also_after_the_grace(
    api_test, local_chain, anvil, w3, usdc, make_request
):
    # D16/D35: the proof was attached inside the window; a re-verify after the
    # grace must re-judge it, not answer proof_not_accepted.
    pr = make_request(usdc_micro=6_200_017, expires_in=timedelta(minutes=5))
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=6_200_017)
    PR.objects.filter(pk=pr.pk).update(
        proof_status="mismatch",
        chain_id=CHAIN_ID,
        tx_hash=tx,
        proof_source="customer",
        proof_attached_at=timezone.now(),
        mismatch_reason="not_found_after_timeout",
    )
    with time_machine.travel(timezone.now() + timedelta(minutes=40), tick=True):
        response = api_test.post(url(pr))
    assert response.status_code == 200, response.content
    assert response.json()["proof_status"] == "verified"  # mined in time
    # A new hash after the grace is still refused (D16).
    other = make_request(usdc_micro=6_200_018, expires_in=timedelta(minutes=5))
    with (
        time_machine.travel(timezone.now() + timedelta(minutes=40), tick=True),
        pytest.raises(JoPayError) as refused,
    ):
        proof_attach(request=other, chain_id=CHAIN_ID, tx_hash=tx, source="merchant")
    assert refused.value.code == "proof_not_accepted"


@pytest.mark.parametrize(
    ("reason", "attached_after_the_grace"),
    [("not_found_after_timeout", False), ("not_found_after_timeout", True)],
)
def test_reverify_rejudges_a_watcher_found_mismatch_too(
    api_test,
    local_chain,
    anvil,
    w3,
    usdc,
    make_request,
    reason,
    attached_after_the_grace,
):
    # The same re-verify of a proof the watcher attached (trails_on_chain):
    # it was refused as "a hash already judged", 409 proof_not_accepted, and
    # a watcher that caught up after the grace made its attach time late too.
    pr = make_request(usdc_micro=6_300_017, expires_in=timedelta(minutes=5))
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=6_300_017)
    late = timedelta(minutes=20) if attached_after_the_grace else timedelta()
    PR.objects.filter(pk=pr.pk).update(
        proof_status="mismatch",
        chain_id=CHAIN_ID,
        tx_hash=tx,
        proof_source="trails_on_chain",
        proof_attached_at=timezone.now() + late,
        mismatch_reason=reason,
    )
    with time_machine.travel(timezone.now() + timedelta(minutes=40), tick=True):
        response = api_test.post(url(pr))
    assert response.status_code == 200, response.content
    assert response.json()["proof_status"] == "verified"  # mined in time


def test_a_reverify_racing_another_attach_never_500s(local_chain, make_request):
    # Two reverifies (a double click) both read the proof as mismatched with
    # its attach time T; the first re-attaches it, so the second's T is stale.
    pr = make_request(usdc_micro=6_300_019)
    stale = timezone.now() - timedelta(minutes=3)
    tx = "0x" + "ab" * 32
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    again = proof_attach(
        request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer", window_at=stale
    )
    assert again.proof_status == "attached"  # the same proof: idempotent
    PR.objects.filter(pk=pr.pk).update(proof_status="mismatch", mismatch_reason="late")
    third = proof_attach(
        request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer", window_at=stale
    )
    assert third.proof_status == "attached"  # judged by the wall clock: still open


def _timed_out_mismatch(pr, tx):
    PR.objects.filter(pk=pr.pk).update(
        proof_status="mismatch",
        chain_id=CHAIN_ID,
        tx_hash=tx,
        proof_source="customer",
        proof_attached_at=timezone.now() - timedelta(minutes=31),
        mismatch_reason="not_found_after_timeout",
    )


def test_reverify_rejudges_a_mismatch_on_a_chain_switched_off_since(
    api_test, local_chain, w3, usdc, make_request
):
    # D35/D19: the chain took the proof at its attach; switched off since, it
    # is still read for the proofs it holds (an attached one verifies), so the
    # mismatched one is re-judged too, not refused as unsupported_chain.
    pr = make_request(usdc_micro=6_400_013)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=6_400_013)
    _timed_out_mismatch(pr, tx)
    Chain.objects.filter(pk=CHAIN_ID).update(enabled=False)

    response = api_test.post(url(pr))

    assert response.status_code == 200, response.content
    assert response.json()["proof_status"] == "verified"


def test_reverify_of_a_mismatch_on_a_chain_without_rpc_is_503_and_stays(
    api_test, local_chain, make_request
):
    # D35: chain trouble is rpc_unavailable, as for an attached proof there;
    # the proof is not attached again to a chain nothing can read.
    pr = make_request(usdc_micro=6_400_029)
    _timed_out_mismatch(pr, "0x" + "cd" * 32)
    Chain.objects.filter(pk=CHAIN_ID).update(rpc_urls=[])

    response = api_test.post(url(pr))

    assert response.status_code == 503
    assert response.json()["error"] == "rpc_unavailable"
    pr.refresh_from_db()
    assert (pr.proof_status, pr.mismatch_reason) == (
        "mismatch",
        "not_found_after_timeout",
    )
    assert not WebhookEvent.objects.filter(request_id=pr.pk).exists()


def test_a_disabled_chain_still_refuses_a_new_hash_on_reverify_paths(
    local_chain, make_request
):
    # Only the row's own mismatched proof is re-judged on a switched-off chain.
    pr = make_request(usdc_micro=6_400_031)
    _timed_out_mismatch(pr, "0x" + "cd" * 32)
    Chain.objects.filter(pk=CHAIN_ID).update(enabled=False)
    with pytest.raises(JoPayError) as info:
        proof_attach(
            request=pr,
            chain_id=CHAIN_ID,
            tx_hash="0x" + "ce" * 32,
            source="customer",
            window_at=timezone.now(),
            rejudge=True,
        )
    assert info.value.code == "unsupported_chain"


def test_reverify_without_a_proof_returns_the_request_unchanged(api_test, make_request):
    pr = make_request()
    body = api_test.post(url(pr)).json()
    assert (body["ok"], body["proof_status"]) == (True, "none")


def test_reverify_needs_requests_write(client_for, partner, paid_attached):
    reader = client_for(partner, test_mode=True, scopes=["requests:read"])
    response = reader.post(url(paid_attached))
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"


def test_reverify_of_another_partner_or_mode_is_not_found(
    client_for, other_partner, api, paid_attached
):
    assert api.post(url(paid_attached)).json()["error"] == "not_found"  # live key
    bob = client_for(other_partner, test_mode=True)
    response = bob.post(url(paid_attached))
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_reverify_malformed_id(api_test):
    response = api_test.post("/api/v1/requests/not-a-uuid/reverify")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request_id"


def test_verify_task_runs_the_service(paid_attached):
    outcome = verify_proof_task.apply(args=(str(paid_attached.pk),)).get()
    assert outcome == "verified"
    assert verify_proof_task.name == "payments.verify_proof"


def test_recheck_claims_overdue_attached_proofs_once(
    paid_attached, make_request, django_capture_on_commit_callbacks
):
    now = timezone.now()
    PR.objects.filter(pk=paid_attached.pk).update(
        next_verify_at=now - timedelta(minutes=1)
    )
    not_due = make_request()
    proof_attach(
        request=not_due,
        chain_id=CHAIN_ID,
        tx_hash="0x" + "cd" * 32,
        source="customer",
        now=now,
    )
    PR.objects.filter(pk=not_due.pk).update(next_verify_at=now + timedelta(minutes=1))

    with django_capture_on_commit_callbacks() as callbacks:
        claimed = recheck_attached_proofs(now=now)
    with django_capture_on_commit_callbacks() as again:
        claimed_again = recheck_attached_proofs(now=now)

    assert claimed == [str(paid_attached.pk)]
    assert len(callbacks) == 1
    paid_attached.refresh_from_db()
    assert paid_attached.next_verify_at == now + RECHECK_LEASE
    assert (claimed_again, len(again)) == ([], 0)
