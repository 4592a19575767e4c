"""Request API input parsing (D4, D11-D13, D17, D34). No business logic, no DB.

Bodies are plain JSON objects checked field by field in the documented order,
so each failure carries the field's own code, else ``invalid_request`` with
``field``. Unknown fields are ignored; ``null`` for an optional field means
"not given". The output shape lives in ``payments.serializers``, its OpenAPI
description in ``schema``.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.http import QueryDict

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.formats import parse_instant, parse_uuid_text
from merchants.models import Merchant, Partner
from merchants.validation import (
    MEMO_KEEPS,
    body_hash,
    has_unstorable_chars,
    shown_text_problem,
)
from payments.models import FxRate, PaymentRequest
from payments.money import MAX_FIAT_INT, is_supported
from payments.return_urls import https_lowered, is_uri, link_problem
from payments.services.requests import PaymentRequestDraft

MEMO_MAX = 500
METADATA_MAX_KEYS = 20
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500
RETURN_URL_MAX = 2000
# D11: expires_in_seconds bounds per payment_mode.
EXPIRY_BOUNDS = {
    PaymentRequest.PaymentMode.POS: (60, 86_400),
    PaymentRequest.PaymentMode.INVOICE: (3_600, 7_776_000),
}
_https_url = URLValidator(schemes=["https"])
RETURN_URL_NOT_URI = (
    "return_url must be an https:// URL written as a URI (RFC 3986): percent-encode"
    ' other characters (non-ASCII, <, >, ", {, }, |, \\, ^, `, a % that starts'
    " no escape, a second #) and write an international host in its xn-- form."
)


def _is_int(value: Any) -> bool:
    # JSON true/false arrive as bool, a subclass of int: never an amount.
    return isinstance(value, int) and not isinstance(value, bool)


def _storable(text: str) -> bool:
    """PostgreSQL cannot store NUL, and a lone surrogate cannot be encoded."""
    return "\x00" not in text and not any("\ud800" <= c <= "\udfff" for c in text)


def parse_merchant_id(value: Any) -> uuid.UUID:
    """D34: missing or not a UUID string (D1 spelling) → ``invalid_merchant_id``."""
    try:
        return parse_uuid_text(value)
    except ValueError:
        raise JoPayError(ErrorCode.INVALID_MERCHANT_ID) from None


def create_body_hash(body: dict[str, Any]) -> str:
    """D17: the hash of the normalised known fields of a create body.

    Computed before validation (an identical body to one that created a
    request is valid by construction); defaults are filled in so that omitting
    ``payment_mode`` and sending ``"pos"`` are the same body.
    """
    merchant_id = body.get("merchant_id")
    if isinstance(merchant_id, str):
        with contextlib.suppress(ValueError):
            merchant_id = str(parse_uuid_text(merchant_id))

    def given(name: str, default: Any = None) -> Any:
        value = body.get(name)
        return default if value is None else value

    known = {
        "merchant_id": merchant_id,
        "fiat_amount_int": given("fiat_amount_int"),
        "fiat_currency_code": given("fiat_currency_code"),
        "memo": given("memo", ""),
        "metadata": given("metadata", {}),
        "payment_mode": given("payment_mode", PaymentRequest.PaymentMode.POS.value),
        "expires_in_seconds": given("expires_in_seconds"),
        "return_url": given("return_url", ""),
    }
    return body_hash(known)


def parse_fiat_amount(value: Any) -> int:
    """D13: a JSON integer in 1 … 2 147 483 647 (not "2500", 25.5, true, null)."""
    if not _is_int(value) or not 1 <= value <= MAX_FIAT_INT:
        raise JoPayError(ErrorCode.INVALID_AMOUNT)
    return value


def parse_currency(value: Any, *, merchant: Merchant, partner: Partner) -> str:
    """D12: the effective currency, with ``fiat_currency_code`` as an assertion."""
    effective = merchant.effective_currency()
    if value is not None:
        if not is_supported(value):
            raise JoPayError(ErrorCode.INVALID_CURRENCY)
        if value != effective:
            raise JoPayError(ErrorCode.CURRENCY_MISMATCH, expected_fiat_code=effective)
    if not is_supported(effective):
        raise JoPayError(ErrorCode.INVALID_CURRENCY)
    if effective not in (partner.enabled_currencies or []):
        raise JoPayError(ErrorCode.UNSUPPORTED_CURRENCY)
    return effective


def parse_memo(value: Any) -> str:
    """D11: a string of at most 500 characters the pay page can show (D22).

    Line breaks (LF, CR) and tab are the only control characters kept: an
    invoice note's lines, which the pay page and receipt show as lines. Every
    other control character and the bidi overrides are refused
    (``shown_text_problem``).
    """
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MEMO_MAX:
        raise JoPayError(ErrorCode.INVALID_MEMO)
    problem = shown_text_problem(value, keep=MEMO_KEEPS)
    if problem:
        raise JoPayError(
            ErrorCode.INVALID_MEMO,
            f"memo must not contain {problem}; line breaks (LF, CR) and tab are"
            " the only control characters it may hold.",
        )
    return value


def parse_metadata(value: Any) -> dict[str, str]:
    """String → string, ≤ 20 keys, key ≤ 40, value ≤ 500 characters (spec §4.1.1)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise JoPayError(ErrorCode.INVALID_REQUEST, field="metadata")
    if len(value) > METADATA_MAX_KEYS:
        raise JoPayError(ErrorCode.METADATA_TOO_MANY_KEYS)
    for key, item in value.items():
        if len(key) > METADATA_KEY_MAX:
            raise JoPayError(ErrorCode.METADATA_KEY_TOO_LONG)
        if not isinstance(item, str) or not _storable(key) or not _storable(item):
            raise JoPayError(ErrorCode.INVALID_REQUEST, field="metadata")
        if len(item) > METADATA_VALUE_MAX:
            raise JoPayError(ErrorCode.METADATA_VALUE_TOO_LONG)
    return dict(value)


def parse_payment_mode(value: Any) -> str:
    if value is None:
        return PaymentRequest.PaymentMode.POS
    if value not in PaymentRequest.PaymentMode.values:
        raise JoPayError(ErrorCode.INVALID_REQUEST, field="payment_mode")
    return value


def parse_expiry(value: Any, *, payment_mode: str, partner: Partner) -> int:
    """D11: bounds per mode; the default is the partner's for that mode."""
    if value is None:
        if payment_mode == PaymentRequest.PaymentMode.INVOICE:
            return partner.invoice_expiry_seconds
        return partner.pos_expiry_seconds
    low, high = EXPIRY_BOUNDS[payment_mode]
    if not _is_int(value) or not low <= value <= high:
        raise JoPayError(ErrorCode.INVALID_EXPIRY)
    return value


def parse_return_url(value: Any) -> str:
    # ``""`` is the field's default, as for ``memo``: /docs/#idempotency
    # counts it the same as leaving the field out (D17), so it means none.
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > RETURN_URL_MAX:
        raise JoPayError(ErrorCode.INVALID_RETURN_URL)
    value = https_lowered(value)  # RFC 3986: "HTTPS://" is https, stored lower-case
    if not value.isascii():
        # The API reads and answers a URI (RFC 3986, OpenAPI "format: uri");
        # URLValidator also passes an IRI ("https://x.example/\u202e", a
        # Unicode host), which then broke the documented response schema.
        raise JoPayError(ErrorCode.INVALID_RETURN_URL, RETURN_URL_NOT_URI)
    # URLValidator lets NUL, other control characters and lone surrogates
    # through in the path (and surrogates in the host); none can be stored.
    if has_unstorable_chars(value):
        raise JoPayError(ErrorCode.INVALID_RETURN_URL)
    try:
        _https_url(value)
    except ValidationError:
        raise JoPayError(ErrorCode.INVALID_RETURN_URL) from None
    if not is_uri(value):
        # URLValidator passes ASCII that no URI holds either ("<", '"', "{",
        # "\\", "%zz", a second "#"): refused for the reason above.
        raise JoPayError(ErrorCode.INVALID_RETURN_URL, RETURN_URL_NOT_URI)
    problem = link_problem(value)
    if problem:
        # D35: the pay page links the customer to it after payment.
        raise JoPayError(
            ErrorCode.INVALID_RETURN_URL, f"return_url must not carry {problem}."
        )
    return value


def parse_create_body(
    body: dict[str, Any],
    *,
    merchant: Merchant,
    partner: Partner,
    idempotency_key: str | None,
    idempotency_hash: str,
    fx_rate: FxRate | None = None,
) -> PaymentRequestDraft:
    """Every shape check of a create body after the merchant is known, in D34 order."""
    fiat_int = parse_fiat_amount(body.get("fiat_amount_int"))
    fiat_code = parse_currency(
        body.get("fiat_currency_code"), merchant=merchant, partner=partner
    )
    memo = parse_memo(body.get("memo"))
    metadata = parse_metadata(body.get("metadata"))
    payment_mode = parse_payment_mode(body.get("payment_mode"))
    expires_in = parse_expiry(
        body.get("expires_in_seconds"), payment_mode=payment_mode, partner=partner
    )
    return_url = parse_return_url(body.get("return_url"))
    return PaymentRequestDraft(
        merchant=merchant,
        fiat_int=fiat_int,
        fiat_code=fiat_code,
        payment_mode=payment_mode,
        expires_in_seconds=expires_in,
        memo=memo,
        metadata=metadata,
        return_url=return_url,
        idempotency_key=idempotency_key,
        idempotency_hash=idempotency_hash,
        fx_rate=fx_rate,
    )


def _choice(params: QueryDict, name: str, choices: list[str]) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if value not in choices:
        raise JoPayError(ErrorCode.INVALID_REQUEST, field=name)
    return value


def _offset_plus(value: str) -> str:
    """``value`` with the spaces that stand for a ``+`` written back as ``+``.

    A "+" in a query string decodes to a space: "…T17:00:00 00:00" meant
    "+00:00". But RFC 3339 also allows a space between date and time, which
    ``parse_instant`` reads; turned into "+" too, it reached ``fromisoformat``
    as a separator the leap-second, ``T24:00`` and sub-microsecond rules do
    not know (a cut fraction moved ``created_before`` a row, D34). So only a
    space after the time is an offset's sign: every space when the text has a
    ``T``, else every space after the first.
    """
    if " " not in value:
        return value
    if "T" in value.upper():
        return value.replace(" ", "+")
    date, _, rest = value.partition(" ")
    return f"{date} {rest.replace(' ', '+')}"


def _timestamp(params: QueryDict, name: str) -> datetime | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    value = _offset_plus(value.strip())
    try:
        # D1: UTC; no offset means UTC. A leap second, T24:00 and digits past
        # the microsecond are read exactly (``parse_instant``); a time no UTC
        # datetime holds is refused like any other malformed one.
        return parse_instant(value)
    except ValueError:
        raise JoPayError(ErrorCode.INVALID_REQUEST, field=name) from None


def parse_list_filters(params: QueryDict) -> dict[str, Any]:
    """Filters of ``GET /api/v1/requests`` (D18, D34); unknown values are refused."""
    merchant_id = params.get("merchant_id")
    return {
        "merchant_id": parse_merchant_id(merchant_id) if merchant_id else None,
        "status": _choice(params, "status", PaymentRequest.Status.values),
        "proof_status": _choice(
            params, "proof_status", PaymentRequest.ProofStatus.values
        ),
        "created_after": _timestamp(params, "created_after"),
        "created_before": _timestamp(params, "created_before"),
    }
