"""OpenAPI documentation of the plan routes (drf-spectacular) only.

The parsers in ``serializers`` are the contract; these classes state what they
accept and what the views answer, for the schema at ``/api/v1/schema``.
"""

from __future__ import annotations

from rest_framework import serializers

from payments.money import MAX_FIAT_INT
from recurring.models import Charge, Plan

from .serializers import PLAN_METADATA_MAX_KEYS


class PlanCreateInputDoc(serializers.Serializer):
    # What ``parse_create`` accepts: null for an optional field means "not
    # given" (D4); "" is no e-mail, and a valid metadata value.
    merchant_id = serializers.UUIDField()
    fiat_amount_int = serializers.IntegerField(min_value=1, max_value=MAX_FIAT_INT)
    frequency = serializers.ChoiceField(Plan.Frequency.values)
    customer_wallet = serializers.CharField(
        help_text="0x + 40 hex (EIP-55 if mixed case)"
    )
    customer_email = serializers.EmailField(
        required=False, allow_blank=True, allow_null=True
    )
    metadata = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=500),
        required=False,
        allow_null=True,
        help_text=f"string → string, at most {PLAN_METADATA_MAX_KEYS} keys",
    )
    # parse_max_charges: 1 … MAX_FIAT_INT, so a client's own validation agrees.
    max_charges = serializers.IntegerField(
        min_value=1, max_value=MAX_FIAT_INT, required=False, allow_null=True
    )
    collection = serializers.ChoiceField(
        Plan.Collection.values, required=False, allow_null=True
    )
    chain_id = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    fiat_currency_code = serializers.CharField(required=False, allow_null=True)
    idempotency_key = serializers.CharField(
        required=False, allow_null=True, min_length=32, max_length=64
    )


class PlanAmountDoc(serializers.Serializer):
    fiat_int = serializers.IntegerField()
    fiat_code = serializers.CharField()


class ChargeOutputDoc(serializers.Serializer):
    charge_number = serializers.IntegerField(help_text="1-based period number")
    request_id = serializers.UUIDField(allow_null=True)
    status = serializers.ChoiceField(Charge.Status.values)
    failure_code = serializers.CharField(allow_null=True)
    due_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()


class PlanItemOutputDoc(serializers.Serializer):
    """One plan as list items show it (no `ok`: the list envelope has it)."""

    plan_id = serializers.UUIDField()
    merchant_id = serializers.UUIDField()
    status = serializers.ChoiceField(Plan.Status.values)
    frequency = serializers.ChoiceField(Plan.Frequency.values)
    amount = PlanAmountDoc()
    customer_wallet = serializers.CharField()
    customer_email = serializers.CharField(allow_null=True)
    metadata = serializers.DictField(child=serializers.CharField())
    max_charges = serializers.IntegerField(allow_null=True)
    charges_count = serializers.IntegerField()
    consecutive_failures = serializers.IntegerField()
    last_failure_code = serializers.CharField(allow_null=True)
    collection = serializers.ChoiceField(Plan.Collection.values)
    chain_id = serializers.IntegerField(allow_null=True)
    next_charge_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    paused_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    test_mode = serializers.BooleanField()
    recent_charges = ChargeOutputDoc(many=True)


class PlanOutputDoc(PlanItemOutputDoc):
    """One plan as a single answer shows it (create, GET, actions), with `ok`."""

    ok = serializers.BooleanField()
