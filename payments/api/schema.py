"""OpenAPI documentation of the requests and FX routes (drf-spectacular) only.

The parsers in ``serializers`` are the contract; these classes state what they
accept and what the views answer, for the schema at ``/api/v1/schema`` and the
clients generated from it.
"""

from __future__ import annotations

from rest_framework import serializers

from payments.models import PaymentRequest
from payments.money import MAX_FIAT_INT

from .serializers import MEMO_MAX, METADATA_VALUE_MAX, RETURN_URL_MAX


class AmountOutput(serializers.Serializer):
    fiat_int = serializers.IntegerField()
    fiat_code = serializers.CharField()
    usdc_micro = serializers.CharField(help_text="micro-USDC as a string of digits")


class PaymentRequestCreateInput(serializers.Serializer):
    # The schema states what the parsers above accept (OpenAPI is read by
    # generated clients): "" is a valid memo and metadata value, and null for
    # an optional field means "not given" (D4).
    merchant_id = serializers.UUIDField()
    fiat_amount_int = serializers.IntegerField(min_value=1, max_value=MAX_FIAT_INT)
    fiat_currency_code = serializers.CharField(required=False, allow_null=True)
    memo = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=MEMO_MAX
    )
    idempotency_key = serializers.CharField(
        required=False, allow_null=True, min_length=32, max_length=64
    )
    metadata = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=METADATA_VALUE_MAX),
        required=False,
        allow_null=True,
        help_text="string → string, at most 20 keys of at most 40 characters",
    )
    payment_mode = serializers.ChoiceField(
        PaymentRequest.PaymentMode.values, required=False, allow_null=True
    )
    expires_in_seconds = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="pos: 60-86400 (default 3600); invoice: 3600-7776000 "
        "(default 604800)",
    )
    return_url = serializers.URLField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=RETURN_URL_MAX,
        help_text="an https:// URL (the scheme in any case), without "
        'user:pass@, any port within 1-65535; "" or null: none',
    )


class PaymentRequestItemOutput(serializers.Serializer):
    """One request as list items show it (no `ok`: the list envelope has it)."""

    request_id = serializers.UUIDField()
    status = serializers.ChoiceField(PaymentRequest.Status.values)
    proof_status = serializers.ChoiceField(PaymentRequest.ProofStatus.values)
    pay_page_url = serializers.URLField()
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    amount = AmountOutput()
    merchant_id = serializers.UUIDField()
    metadata = serializers.DictField(child=serializers.CharField())
    memo = serializers.CharField()
    payment_mode = serializers.ChoiceField(PaymentRequest.PaymentMode.values)
    test_mode = serializers.BooleanField()
    reference = serializers.CharField()
    receiving_address = serializers.CharField()
    chain_id = serializers.IntegerField(allow_null=True)
    tx_hash = serializers.CharField(allow_null=True)
    payer_address = serializers.CharField(allow_null=True)
    proof_source = serializers.CharField(allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    mismatch_reason = serializers.CharField(allow_null=True)
    return_url = serializers.URLField(allow_null=True)


class PaymentRequestOutput(PaymentRequestItemOutput):
    """One request as a single answer shows it (create, GET, cancel), with `ok`."""

    ok = serializers.BooleanField()


class FxRateOutput(serializers.Serializer):
    currency = serializers.CharField()
    rate = serializers.CharField(allow_null=True, help_text="fiat units per 1 USDC")
    source = serializers.CharField(allow_null=True)
    fetched_at = serializers.DateTimeField(allow_null=True)
    stale = serializers.BooleanField()
