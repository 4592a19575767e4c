"""``recurring.charge_created`` carries the D23 request-event fields (D23, D35).

A receiver parses every event about a request the same way: the charge event
has every field ``payment_request_event_data`` gives the other request events,
with the same values, plus the plan fields it has always had.
"""

from __future__ import annotations

from django.conf import settings

from payments.serializers import payment_request_event_data
from recurring.services import plans_charge_due
from webhooks.models import WebhookEvent


def charge_event(plan) -> WebhookEvent:
    return WebhookEvent.objects.get(
        type="recurring.charge_created", payload__plan_id=str(plan.pk)
    )


def test_charge_created_carries_every_request_event_field(make_plan, eur_rate):
    plan = make_plan(metadata={"customer": "c-42"}, customer_email="p@example.com")

    plans_charge_due()

    request = plan.charges.get().payment_request
    payload = charge_event(plan).payload
    base = payment_request_event_data(request)
    assert {key: payload.get(key, "<missing>") for key in base} == base
    # The request's state when the charge was made: a fresh invoice, no proof.
    assert payload["status"] == "requested"
    assert payload["proof_status"] == "none"
    for key in ("proof_source", "tx_hash", "payer_address", "chain_id"):
        assert payload[key] is None
    assert payload["mismatch_reason"] in (None, "")
    assert payload["test_mode"] is False


def test_charge_created_keeps_its_plan_fields_with_their_names_and_types(
    make_plan, eur_rate
):
    plan = make_plan(metadata={"customer": "c-42"}, customer_email="p@example.com")

    plans_charge_due()

    charge = plan.charges.get()
    request = charge.payment_request
    payload = charge_event(plan).payload
    assert payload["event"] == "recurring.charge_created"
    assert payload["plan_id"] == str(plan.pk)
    assert payload["request_id"] == str(request.pk)
    assert payload["merchant_id"] == str(plan.merchant_id)
    assert payload["charge_number"] == 1
    assert isinstance(payload["charge_number"], int)
    assert isinstance(payload["due_at"], str)
    assert payload["due_at"].endswith("Z")
    assert payload["pay_page_url"] == (
        f"{settings.JOPAY_PUBLIC_BASE_URL}/pay/{request.pk}"
    )
    assert payload["amount"] == {
        "fiat_int": 2500,
        "fiat_code": "EUR",
        "usdc_micro": str(request.usdc_micro),
    }
    assert isinstance(payload["expires_at"], str)
    assert payload["customer_wallet"] == plan.customer_wallet
    assert payload["customer_email"] == "p@example.com"
    assert payload["metadata"] == {
        "customer": "c-42",
        "plan_id": str(plan.pk),
        "charge_number": "1",
    }
    assert isinstance(payload["sequence"], int)


def test_charge_created_without_customer_email_sends_null(make_plan, eur_rate):
    plan = make_plan()

    plans_charge_due()

    assert charge_event(plan).payload["customer_email"] is None
