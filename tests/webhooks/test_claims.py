"""The claim/result writes: the PostgreSQL one-statement form and the portable
ORM form (the embedded SQLite default, D30) behave the same (D24)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import claims

from .conftest import emit

FORMS = [
    (claims._claim_postgresql, claims._result_postgresql),
    (claims._claim_portable, claims._result_portable),
]


@pytest.fixture
def pending(partner, endpoint_for):
    _, secret = endpoint_for(partner)
    return emit(partner).deliveries.get(), secret


@pytest.mark.parametrize(("claim", "result"), FORMS)
def test_claim_leases_counts_and_logs_once(pending, claim, result):
    delivery, secret = pending
    now = timezone.now()
    got = claim(delivery_id=str(delivery.pk), now=now)
    assert got.attempt == 1
    assert got.secrets == [secret]
    assert got.endpoint_enabled is True
    assert got.payload["event"] == "payment.proof_attached"
    assert claim(delivery_id=str(delivery.pk), now=now) is None  # leased
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert delivery.locked_until == now + timedelta(seconds=claims.LEASE_SECONDS)
    row = WebhookAttempt.objects.get(pk=got.attempt_row_id)
    assert (row.number, row.error) == (1, claims.INTERRUPTED)
    # After the lease runs out the row can be claimed again, as attempt 2.
    later = now + timedelta(seconds=claims.LEASE_SECONDS)
    assert claim(delivery_id=str(delivery.pk), now=later).attempt == 2


@pytest.mark.parametrize(("claim", "result"), FORMS)
def test_result_is_written_only_by_the_owning_attempt(pending, claim, result):
    delivery, _ = pending
    now = timezone.now()
    first = claim(delivery_id=str(delivery.pk), now=now)
    later = now + timedelta(seconds=claims.LEASE_SECONDS)
    second = claim(delivery_id=str(delivery.pk), now=later)
    attempt = {"status_code": 200, "latency_ms": 5, "error": "", "response_body": "ok"}
    changes = {
        "state": "delivered",
        "next_attempt_at": None,
        "last_status_code": 200,
        "abandoned_reason": "",
        "delivered_at": later,
        "enqueued_at": None,
    }
    assert result(claim=first, changes=changes, attempt=attempt, now=later) is False
    delivery.refresh_from_db()
    assert delivery.state == "pending"  # the stale attempt only logged itself
    assert WebhookAttempt.objects.get(pk=first.attempt_row_id).status_code == 200
    assert result(claim=second, changes=changes, attempt=attempt, now=later) is True
    delivery.refresh_from_db()
    assert delivery.state == "delivered"
    assert delivery.delivered_at == later
    assert delivery.locked_until is None
    assert delivery.enqueued_at is not None


@pytest.mark.parametrize(("claim", "result"), FORMS)
def test_not_due_or_not_pending_is_not_claimed(pending, claim, result):
    delivery, _ = pending
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=now + timedelta(seconds=1)
    )
    assert claim(delivery_id=str(delivery.pk), now=now) is None
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=now, state="delivered"
    )
    assert claim(delivery_id=str(delivery.pk), now=now) is None
    assert not WebhookAttempt.objects.exists()
