"""The database refuses rows that break D20 and D23, whatever wrote them
(a bug, a shell, hand SQL): payments 0017/0018 and webhooks 0014/0015.

Each case writes with ``QuerySet.update`` (no model code in the way), as a
hand edit would, and the database must refuse it."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from payments.models import PaymentRequest as PR  # noqa: N817
from tests.payments.conftest import make_request
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

HASH = "0x" + "ab" * 32


def _refused(queryset, **fields) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        queryset.update(**fields)


ATTACHED = {"proof_status": "attached", "chain_id": 137, "tx_hash": HASH}
VERIFIED = {
    "proof_status": "verified",
    "status": "paid",
    "chain_id": 137,
    "tx_hash": HASH,
    "verified_at": timezone.now(),
}


@pytest.mark.parametrize(
    "fields",
    [
        # D20: another spelling of a hash is the same transaction.
        {**ATTACHED, "tx_hash": "0x" + "AB" * 32},
        {**VERIFIED, "tx_hash": "0x" + "Ab" * 32},
        {**ATTACHED, "tx_hash": HASH[:-1]},
        {**ATTACHED, "tx_hash": ""},
        # Money is never negative.
        {**VERIFIED, "overpaid_micro": -1},
    ],
)
def test_database_refuses_a_request_row_breaking_d20(merchant, fields):
    row = make_request(merchant)
    _refused(PR.objects.filter(pk=row.pk), **fields)


@pytest.mark.parametrize(
    "fields",
    [
        ATTACHED,
        VERIFIED,
        {**VERIFIED, "overpaid_micro": 5},
        {**ATTACHED, "proof_status": "mismatch", "mismatch_reason": "late"},
        {"status": "cancelled"},
    ],
)
def test_database_accepts_the_states_the_code_writes(merchant, fields):
    row = make_request(merchant)
    assert PR.objects.filter(pk=row.pk).update(**fields) == 1


def test_a_second_spelling_of_a_verified_hash_cannot_prove_another_request(
    merchant,
):
    """D20 end to end: with the hash's case pinned, the partial unique index
    refuses the second request (before, "0xAB…" slipped past "0xab…")."""
    first, second = make_request(merchant), make_request(merchant)
    PR.objects.filter(pk=first.pk).update(**VERIFIED)
    _refused(
        PR.objects.filter(pk=second.pk), **{**ATTACHED, "tx_hash": "0x" + "AB" * 32}
    )
    _refused(PR.objects.filter(pk=second.pk), **ATTACHED)


def test_database_refuses_a_request_event_without_its_sequence(merchant):
    """D23: an event about a request is numbered; NULL escapes the unique
    (request_id, sequence) constraint, and 0 is not a number D23 gives."""
    request_id = uuid.uuid4()
    event = WebhookEvent.objects.create(
        partner=merchant.partner,
        test_mode=merchant.test_mode,
        type=WebhookEvent.Type.REQUEST_EXPIRED,
        request_id=request_id,
        sequence=1,
        payload={},
    )
    _refused(WebhookEvent.objects.filter(pk=event.pk), sequence=None)
    _refused(WebhookEvent.objects.filter(pk=event.pk), sequence=0)
    # webhook.test has neither.
    WebhookEvent.objects.create(
        partner=merchant.partner,
        test_mode=merchant.test_mode,
        type=WebhookEvent.Type.WEBHOOK_TEST,
        payload={},
    )
