"""What one charge creates: its invoice-mode payment request and its event (D29, D35).

Called by the charging job (``charging``) inside the charge's savepoint; a
``JoPayError`` from here is the charge's failure code.
"""

from __future__ import annotations

from datetime import datetime

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.formats import iso
from payments.models import PaymentRequest
from payments.serializers import pay_page_url, payment_request_event_data
from payments.services.requests import PaymentRequestDraft, payment_request_create
from recurring.models import Plan
from recurring.schedule import charge_expiry


def charge_request_create(plan: Plan, slot: int, due_at: datetime) -> PaymentRequest:
    if plan.fiat_code not in (plan.partner.enabled_currencies or []):
        # The partner switched the plan's currency off since the plan was made.
        raise JoPayError(ErrorCode.UNSUPPORTED_CURRENCY)
    # D29: every charge is an invoice-mode request, whatever the collection:
    # pull execution needs the on-chain executor, so until it runs charges are
    # invoices the customer pays by hand (spec §10.1).
    draft = PaymentRequestDraft(
        merchant=plan.merchant,
        fiat_int=plan.fiat_amount_int,
        fiat_code=plan.fiat_code,
        payment_mode=PaymentRequest.PaymentMode.INVOICE,
        expires_in_seconds=int(charge_expiry(plan.frequency, due_at).total_seconds()),
        metadata={
            **plan.metadata,
            "plan_id": str(plan.pk),
            "charge_number": str(slot + 1),
        },
    )
    # A wallet moved since the plan was claimed: payment_request_create
    # retries at the new one (tags.merchant_moved_wallet, D28).
    request, _ = payment_request_create(tenant=plan.tenant, draft=draft)
    return request


def charge_event_data(
    plan: Plan, slot: int, due_at: datetime, request: PaymentRequest
) -> dict[str, object]:
    """The D23 fields every request event carries, then the plan's (D35).

    Built on ``payment_request_event_data`` like the ``payment.*`` and
    ``request.*`` events (``status``, ``proof_status``, ``proof_source``,
    ``tx_hash``, ``payer_address``, ``chain_id``, ``amount``, ``metadata``,
    ``test_mode`` …), so a receiver parses every request event alike; then
    ``plan_id``, ``charge_number``, ``due_at``, ``pay_page_url``, ``expires_at``
    and the customer, as this event has always carried.
    """
    return {
        **payment_request_event_data(request),
        "plan_id": str(plan.pk),
        "charge_number": slot + 1,
        "due_at": iso(due_at),
        "pay_page_url": pay_page_url(request),
        "expires_at": iso(request.expires_at),
        "customer_wallet": plan.customer_wallet,
        "customer_email": plan.customer_email or None,
    }
