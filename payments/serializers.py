"""The one payment-request shape (D18) and its webhook payload (D23).

Plain functions, no DRF: the API, webhook payloads and the portal all reuse them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from jopay_project.formats import iso

from .models import PaymentRequest
from .return_urls import return_url_uri


def pay_page_url(request: PaymentRequest) -> str:
    return f"{settings.JOPAY_PUBLIC_BASE_URL}/pay/{request.pk}"


def payment_request_amount(request: PaymentRequest) -> dict[str, Any]:
    # usdc_micro is a string of digits on the wire (spec §1.4): no JSON number
    # precision loss in clients.
    return {
        "fiat_int": request.fiat_int,
        "fiat_code": request.fiat_code,
        "usdc_micro": str(request.usdc_micro),
    }


def payment_request_data(request: PaymentRequest) -> dict[str, Any]:
    """The D18 request shape without ``ok``: create, replay, GET, list items, cancel."""
    return {
        "request_id": str(request.pk),
        "status": request.status,
        "proof_status": request.proof_status,
        "pay_page_url": pay_page_url(request),
        "expires_at": iso(request.expires_at),
        "created_at": iso(request.created_at),
        "amount": payment_request_amount(request),
        "merchant_id": str(request.merchant_id),
        "metadata": request.metadata,
        "memo": request.memo,
        "payment_mode": request.payment_mode,
        "test_mode": request.test_mode,
        "reference": request.reference,
        "receiving_address": request.receiving_address,
        "chain_id": request.chain_id,
        "tx_hash": request.tx_hash,
        "payer_address": request.payer_address,
        "proof_source": request.proof_source,
        "verified_at": iso(request.verified_at),
        "cancelled_at": iso(request.cancelled_at),
        "mismatch_reason": request.mismatch_reason,
        # A URI or null, also for a row stored before the write rules.
        "return_url": return_url_uri(request.return_url),
    }


def payment_request_event_data(request: PaymentRequest) -> dict[str, Any]:
    """The D23 fields of a request event.

    ``event_emit`` adds the event name, partner id, sequence and timestamp.

    The proof engineer adds the on-chain evidence fields for verified proofs.
    """
    return {
        "request_id": str(request.pk),
        "merchant_id": str(request.merchant_id),
        "status": request.status,
        "proof_status": request.proof_status,
        "proof_source": request.proof_source,
        "tx_hash": request.tx_hash,
        "payer_address": request.payer_address,
        "metadata": request.metadata,
        "test_mode": request.test_mode,
        "amount": payment_request_amount(request),
        "chain_id": request.chain_id,
        "mismatch_reason": request.mismatch_reason,
    }
