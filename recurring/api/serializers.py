"""Plan API input parsing and the one plan shape (D4, D29, D34, D35). No business logic.

Bodies are plain JSON objects checked field by field, so each failure carries
the field's own code (``invalid_amount``, ``invalid_frequency``,
``invalid_customer_wallet``, ``invalid_email``, ``metadata_*``) or
``invalid_request`` with ``field`` (D4). Unknown fields are ignored; ``null``
for an optional field means "not given". The field rules shared with payment
requests (merchant id, amount, metadata, currency check) are the payments
parsers themselves, so both endpoints answer alike.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.formats import iso, parse_uuid_text
from merchants.validation import validate_email, validate_evm_address
from payments.api.serializers import (
    METADATA_MAX_KEYS,
    parse_fiat_amount,
    parse_merchant_id,
    parse_metadata,
)
from payments.money import MAX_FIAT_INT
from recurring.models import Charge, Plan
from recurring.services import plan_body_hash


def _is_int(value: Any) -> bool:
    # JSON true/false arrive as bool, a subclass of int.
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class PlanCreateInput:
    """The fields of a create body after the merchant is known, shape-checked."""

    fiat_amount_int: int
    frequency: str
    customer_wallet: str
    customer_email: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    max_charges: int | None = None
    collection: str = Plan.Collection.INVOICE
    chain_id: int | None = None
    fiat_currency_code: str | None = None  # a D12 assertion; the service checks it

    def as_kwargs(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def parse_frequency(value: Any) -> str:
    """D35: exactly ``daily``, ``weekly`` or ``monthly``; else (missing too)
    ``invalid_frequency``."""
    if not isinstance(value, str) or value not in Plan.Frequency.values:
        raise JoPayError(ErrorCode.INVALID_FREQUENCY)
    return value


def parse_customer_email(value: Any) -> str:
    if value is None or value == "":
        return ""
    return validate_email(value)


def parse_max_charges(value: Any) -> int | None:
    """``null`` = unlimited; else a JSON integer ≥ 1."""
    if value is None:
        return None
    if not _is_int(value) or not 1 <= value <= MAX_FIAT_INT:
        raise JoPayError(ErrorCode.INVALID_REQUEST, field="max_charges")
    return value


def parse_collection(value: Any) -> str:
    if value is None:
        return Plan.Collection.INVOICE
    if not isinstance(value, str) or value not in Plan.Collection.values:
        raise JoPayError(ErrorCode.INVALID_REQUEST, field="collection")
    return value


def parse_chain_id(value: Any) -> int | None:
    if value is None:
        return None
    if not _is_int(value) or value <= 0:
        raise JoPayError(ErrorCode.INVALID_REQUEST, field="chain_id")
    return value


# Each charge's request carries the plan's metadata plus these two keys
# (``recurring.services.charge_request``); a request holds at most 20 keys.
CHARGE_METADATA_KEYS = ("plan_id", "charge_number")
PLAN_METADATA_MAX_KEYS = METADATA_MAX_KEYS - len(CHARGE_METADATA_KEYS)


def parse_plan_metadata(value: Any) -> dict[str, str]:
    """A request's metadata rules (spec §4.1.1), leaving room for the two keys
    JoPay adds to every charge: ≤ 18 keys, and neither of those names (a
    partner's own ``plan_id`` was overwritten on every charge)."""
    metadata = parse_metadata(value)
    if len(metadata) > PLAN_METADATA_MAX_KEYS:
        raise JoPayError(
            ErrorCode.METADATA_TOO_MANY_KEYS,
            f"A plan's metadata takes at most {PLAN_METADATA_MAX_KEYS} keys: each "
            "charge adds plan_id and charge_number, and a request takes 20.",
        )
    reserved = sorted(set(metadata) & set(CHARGE_METADATA_KEYS))
    if reserved:
        raise JoPayError(
            ErrorCode.INVALID_REQUEST,
            f"JoPay sets {', '.join(reserved)} on each charge; use another key.",
            field="metadata",
        )
    return metadata


def parse_create(body: dict[str, Any]) -> PlanCreateInput:
    """The rest of a ``POST /recurring/plans`` body, in a fixed check order.

    The view checks ``idempotency_key``, answers a retry of a stored plan
    (``create_body_hash``), then checks ``merchant_id`` (and looks the merchant
    up) first, as the requests endpoint does.
    """
    currency = body.get("fiat_currency_code")
    return PlanCreateInput(
        fiat_amount_int=parse_fiat_amount(body.get("fiat_amount_int")),
        frequency=parse_frequency(body.get("frequency")),
        customer_wallet=validate_evm_address(
            body.get("customer_wallet"), ErrorCode.INVALID_CUSTOMER_WALLET
        ),
        customer_email=parse_customer_email(body.get("customer_email")),
        metadata=parse_plan_metadata(body.get("metadata")),
        max_charges=parse_max_charges(body.get("max_charges")),
        collection=parse_collection(body.get("collection")),
        chain_id=parse_chain_id(body.get("chain_id")),
        # Any non-null value goes on to the D12 check, which names what is wrong.
        fiat_currency_code=None if currency is None else str(currency),
    )


def create_body_hash(body: dict[str, Any]) -> str:
    """D17: the hash the plan service stores, from a raw create body.

    Computed before validation, as ``payments.api.serializers.create_body_hash``
    does for requests: a body identical to one that created a plan is valid by
    construction, so a retry can be answered (replay or ``idempotency_conflict``)
    before any field check. The values are taken as ``parse_create`` would
    produce them (a UUID ``merchant_id`` in its canonical spelling, a given
    ``fiat_currency_code`` as a string), so a valid body hashes exactly as the
    service hashed its parsed fields.
    """
    merchant_id = body.get("merchant_id")
    if isinstance(merchant_id, str):
        with contextlib.suppress(ValueError):
            merchant_id = str(parse_uuid_text(merchant_id))
    currency = body.get("fiat_currency_code")
    return plan_body_hash(
        merchant_id=merchant_id,
        fiat_amount_int=body.get("fiat_amount_int"),
        frequency=body.get("frequency"),
        customer_wallet=body.get("customer_wallet"),
        customer_email=body.get("customer_email"),
        metadata=body.get("metadata"),
        max_charges=body.get("max_charges"),
        collection=body.get("collection"),
        chain_id=body.get("chain_id"),
        fiat_currency_code=None if currency is None else str(currency),
    )


def parse_list_filters(params: QueryDict) -> dict[str, Any]:
    """Filters of ``GET /recurring/plans``: ``status``, ``merchant_id`` (D34)."""
    status = params.get("status") or None
    if status is not None and status not in Plan.Status.values:
        raise JoPayError(ErrorCode.INVALID_REQUEST, field="status")
    merchant_id = params.get("merchant_id") or None
    return {
        "status": status,
        "merchant_id": parse_merchant_id(merchant_id) if merchant_id else None,
    }


# --- output ---------------------------------------------------------------------------


def charge_output(charge: Charge) -> dict[str, Any]:
    return {
        "charge_number": charge.charge_number,
        "request_id": str(charge.payment_request_id)
        if charge.payment_request_id
        else None,
        "status": charge.status,
        "failure_code": charge.failure_code or None,
        "due_at": iso(charge.due_at),
        "created_at": iso(charge.created_at),
    }


def plan_output(plan: Plan, charges: list[Charge]) -> dict[str, Any]:
    """The one plan shape (D35) of create, replay, GET, list items and actions."""
    return {
        "plan_id": str(plan.pk),
        "merchant_id": str(plan.merchant_id),
        "status": plan.status,
        "frequency": plan.frequency,
        "amount": {"fiat_int": plan.fiat_amount_int, "fiat_code": plan.fiat_code},
        "customer_wallet": plan.customer_wallet,
        "customer_email": plan.customer_email or None,
        "metadata": plan.metadata,
        "max_charges": plan.max_charges,
        "charges_count": plan.charges_count,
        "consecutive_failures": plan.consecutive_failures,
        "last_failure_code": plan.last_failure_code or None,
        "collection": plan.collection,
        "chain_id": plan.chain_id,
        "next_charge_at": iso(plan.next_charge_at),
        "created_at": iso(plan.created_at),
        "paused_at": iso(plan.paused_at),
        "cancelled_at": iso(plan.cancelled_at),
        "completed_at": iso(plan.completed_at),
        "test_mode": plan.test_mode,
        "recent_charges": [charge_output(c) for c in charges],
    }
