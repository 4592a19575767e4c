"""POST /api/v1/requests/<id>/cancel (D18, D23, D24, D34)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from payments.models import PaymentRequest
from tests.portal.conftest import chain as chain_fixture  # noqa: F401 (a fixture)
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.usefixtures("rates")
LOCAL_CHAIN_ID = 31337  # tests.portal.conftest.chain


@pytest.fixture
def request_id(api, create):
    response = create(api, metadata={"order": "7"})
    assert response.status_code == 201
    return response.json()["request_id"]


def cancel(client, rid):
    return client.post(f"/api/v1/requests/{rid}/cancel")


def test_cancel_answers_200_with_the_full_request(api, request_id):
    response = cancel(api, request_id)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["cancelled_at"].endswith("Z")
    assert body == api.get(f"/api/v1/requests/{request_id}").json()  # D34: GET shape


def test_cancel_writes_one_request_cancelled_event(api, request_id, partner):
    cancel(api, request_id)
    events = list(WebhookEvent.objects.filter(request_id=request_id))
    assert [e.type for e in events] == ["request.cancelled"]
    payload = events[0].payload
    assert payload["status"] == "cancelled"
    assert payload["metadata"] == {"order": "7"}
    assert payload["test_mode"] is False
    assert payload["partner_id"] == str(partner.pk)
    assert payload["sequence"] == 1
    for name in (
        "request_id",
        "merchant_id",
        "proof_status",
        "proof_source",
        "tx_hash",
        "payer_address",
        "amount",
        "chain_id",
        "mismatch_reason",
    ):
        assert name in payload, name


def test_repeat_cancel_is_200_unchanged_without_a_second_event(api, request_id):
    first = cancel(api, request_id).json()
    again = cancel(api, request_id)
    assert again.status_code == 200
    assert again.json() == first
    assert WebhookEvent.objects.filter(request_id=request_id).count() == 1


def test_opened_and_mismatch_requests_can_be_cancelled(api, create):
    for changes in ({"status": "opened"}, {"proof_status": "mismatch"}):
        rid = create(api, fiat_amount_int=3000).json()["request_id"]
        PaymentRequest.objects.filter(pk=rid).update(**changes)
        assert cancel(api, rid).json()["status"] == "cancelled"


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "expired"},
        {"status": "paid", "proof_status": "verified"},
        {"proof_status": "attached"},
        {"status": "opened", "proof_status": "attached"},
        {"status": "expired", "proof_status": "mismatch"},
    ],
)
def test_not_cancellable_states_are_409(api, request_id, changes):
    PaymentRequest.objects.filter(pk=request_id).update(**changes)
    response = cancel(api, request_id)
    assert (response.status_code, response.json()["error"]) == (
        409,
        "request_not_cancellable",
    )
    row = PaymentRequest.objects.get(pk=request_id)
    assert row.status == changes.get("status", "requested")
    assert row.cancelled_at is None
    assert not WebhookEvent.objects.filter(request_id=request_id).exists()


@pytest.mark.parametrize("status", ["requested", "opened"])
def test_a_request_past_expires_at_is_expired_not_cancelled_before_the_job_ran(
    api, request_id, status
):
    # errors.md: "expired" is not cancellable, and the timestamp is what counts.
    # Cancelled inside the D20 grace, a transfer mined in time could not attach.
    PaymentRequest.objects.filter(pk=request_id).update(
        status=status, expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = cancel(api, request_id)
    assert (response.status_code, response.json()["error"]) == (
        409,
        "request_not_cancellable",
    )
    # D16: expired on the spot, as the 60 s job would have: a GET right after
    # the refusal says so, instead of the "requested" it contradicted.
    row = PaymentRequest.objects.get(pk=request_id)
    assert (row.status, row.cancelled_at) == ("expired", None)
    assert row.expired_at is not None
    assert api.get(f"/api/v1/requests/{request_id}").json()["status"] == "expired"
    assert list(
        WebhookEvent.objects.filter(request_id=request_id).values_list(
            "type", flat=True
        )
    ) == ["request.expired"]
    # The job finds nothing left to do, and a second cancel is refused the same.
    from payments.services import payment_requests_expire_due

    assert payment_requests_expire_due() == 0
    assert cancel(api, request_id).json()["error"] == "request_not_cancellable"
    assert WebhookEvent.objects.filter(request_id=request_id).count() == 1


def test_foreign_and_other_mode_cancel_is_byte_identical_to_missing(
    api, request_id, client_for, other_partner, api_test
):
    missing = cancel(api, uuid.uuid4())
    assert missing.status_code == 404
    for stranger in (client_for(other_partner), api_test):
        answer = cancel(stranger, request_id)
        assert answer.content == missing.content
    assert PaymentRequest.objects.get(pk=request_id).status == "requested"


def test_malformed_id_is_invalid_request_id(api):
    response = cancel(api, "not-a-uuid")
    assert (response.status_code, response.json()["error"]) == (
        400,
        "invalid_request_id",
    )


def test_cancel_needs_requests_write(client_for, partner, request_id):
    reader = client_for(partner, scopes=["requests:read"])
    response = cancel(reader, request_id)
    body = response.json()
    assert (response.status_code, body["error"], body["required_scope"]) == (
        403,
        "insufficient_scope",
        "requests:write",
    )
    # Refused means nothing happened: still open, no request.cancelled event.
    assert PaymentRequest.objects.get(pk=request_id).status == "requested"
    assert not WebhookEvent.objects.filter(request_id=request_id).exists()


def test_cancel_is_post_only(api, request_id):
    response = api.get(f"/api/v1/requests/{request_id}/cancel")
    assert (response.status_code, response.json()["error"]) == (
        405,
        "method_not_allowed",
    )


def mismatched(request_id, reason: str, tx_hash: str) -> None:
    """The request's customer proof ended in ``mismatch`` with ``reason``."""
    PaymentRequest.objects.filter(pk=request_id).update(
        proof_status="mismatch",
        mismatch_reason=reason,
        chain_id=LOCAL_CHAIN_ID,
        tx_hash=tx_hash,
        proof_source="customer",
        proof_attached_at=timezone.now(),
    )


@pytest.mark.usefixtures("chain_fixture")
def test_reverify_of_a_cancelled_request_returns_it_unchanged(
    api_test, create, test_merchant
):
    # D18 lets a request whose proof ended in mismatch be cancelled, and
    # cancelled is final. D35: reverify "returns the request" (chain trouble
    # aside). Its re-attach of the mismatched hash was refused, so a partner
    # re-judging its not_found_after_timeout proofs got 409 proof_not_accepted,
    # an answer the endpoint does not document, for each cancelled one.
    request_id = create(api_test, test_merchant).json()["request_id"]
    mismatched(request_id, "not_found_after_timeout", "0x" + "ab" * 32)
    cancelled = cancel(api_test, request_id).json()
    assert cancelled["status"] == "cancelled"
    response = api_test.post(f"/api/v1/requests/{request_id}/reverify")
    assert response.status_code == 200, response.content
    assert response.json() == cancelled
    assert list(
        WebhookEvent.objects.filter(request_id=request_id).values_list(
            "type", flat=True
        )
    ) == ["request.cancelled"]


@pytest.mark.usefixtures("chain_fixture")
def test_reverify_read_before_a_cancel_answers_the_cancelled_request(
    api_test, create, test_merchant
):
    # The same, with the cancel committing between reverify's read and its
    # re-attach (a partner's job and a shop's cancel crossing).
    from payments.proofs.services import proof_reverify

    request_id = create(api_test, test_merchant).json()["request_id"]
    mismatched(request_id, "underpaid", "0x" + "cd" * 32)
    read = PaymentRequest.objects.get(pk=request_id)
    assert cancel(api_test, request_id).status_code == 200
    fresh = proof_reverify(request=read)
    assert (fresh.status, fresh.proof_status) == ("cancelled", "mismatch")
