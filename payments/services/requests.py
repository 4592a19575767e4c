"""Payment requests: create (idempotent, unique amount) (D10-D17, D28).

Cancel and expiry are in ``closing``.

Every state change writes its webhook event with ``event_emit`` inside the same
transaction (D24). Network I/O never happens here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.tenancy import Tenant
from merchants.models import Merchant
from payments.models import FxRate, PaymentRequest
from payments.money import fiat_to_usdc_micro

from .amounts import amount_base, amount_check_limits
from .fx import fx_rate_for, fx_rate_usable
from .tags import amount_insert_unique, canonical_address, merchant_moved_wallet

# spec §1.5: short public reference, no look-alikes (0/O, 1/I).
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 6
REFERENCE_TRIES = 8


@dataclass(frozen=True)
class PaymentRequestDraft:
    """A create body that passed every shape check (the API layer builds it)."""

    merchant: Merchant
    fiat_int: int
    fiat_code: str  # the effective currency (D12), already checked
    payment_mode: str = PaymentRequest.PaymentMode.POS
    expires_in_seconds: int = 3600
    memo: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    return_url: str = ""
    idempotency_key: str | None = None
    idempotency_hash: str = ""
    # The effective rate row read together with the merchant
    # (``payment_request_create_context``); None → read here.
    fx_rate: FxRate | None = None


def payment_request_replay(
    *, tenant: Tenant, idempotency_key: str, idempotency_hash: str
) -> PaymentRequest | None:
    """The request created earlier with this key, in its current state, or None (D17).

    Raises ``idempotency_conflict`` when the key was used with a different body.
    """
    original = (
        PaymentRequest.objects.for_tenant(tenant)
        .filter(idempotency_key=idempotency_key)
        .select_related("merchant")
        .first()
    )
    if original is None:
        return None
    if original.idempotency_hash != idempotency_hash:
        raise JoPayError(ErrorCode.IDEMPOTENCY_CONFLICT)
    return original


def _reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def payment_request_create(
    *, tenant: Tenant, draft: PaymentRequestDraft
) -> tuple[PaymentRequest, bool]:
    """Create a payment request, or return the one its idempotency key already made.

    Returns ``(request, created)``. ``draft.merchant`` must be the tenant's
    (else ``not_found``). Guarantees:
    - merchant readiness, partner limits and FX are checked, in that order
      (``merchant_not_ready``, ``amount_below_minimum``/``amount_exceeds_max``,
      ``fx_unavailable``) for the partner's default currency; in another
      currency the limits are converted, so FX (of either currency) answers
      before them;
    - ``usdc_micro`` is the D14 floor conversion rounded down to a multiple of
      1 000 plus a tag unique for the receiving address among open or
      in-grace requests of every partner and mode (``amount_unavailable``
      when all 1 000 are taken), chosen under a lock on the address
      (``amount_insert_unique``: one round trip, one transaction);
    - a wallet change committed after ``draft.merchant`` was read is followed
      once (``tags.merchant_moved_wallet``): the request goes to the new
      wallet, never the old one (D28);
    - with an idempotency key, concurrent duplicates produce one row: the
      losers return it (``created`` False) or raise ``idempotency_conflict``.
    Nothing is written when anything raises. Opens no transaction of its own:
    the write is one atomic unit; inside a caller's transaction it joins it.
    """
    merchant = draft.merchant
    if (
        merchant.partner_id != tenant.partner.pk
        or merchant.test_mode != tenant.test_mode
    ):
        # D10: callers look the merchant up for the tenant; a slip must not write
        # a request that crosses partners or modes.
        raise JoPayError(ErrorCode.NOT_FOUND)
    if not merchant.is_ready:
        raise JoPayError(ErrorCode.MERCHANT_NOT_READY)
    partner = tenant.partner
    if draft.fiat_code == partner.default_currency:
        # Same currency: the limits need no FX, so they answer first.
        amount_check_limits(
            partner=partner, fiat_int=draft.fiat_int, currency=draft.fiat_code
        )
    if draft.fx_rate is not None and draft.fx_rate.currency == draft.fiat_code:
        rate = fx_rate_usable(draft.fx_rate)
    else:
        rate = fx_rate_for(partner, draft.fiat_code)
    usdc_exact = fiat_to_usdc_micro(draft.fiat_int, draft.fiat_code, rate.rate)
    if draft.fiat_code != partner.default_currency:
        amount_check_limits(
            partner=partner,
            fiat_int=draft.fiat_int,
            currency=draft.fiat_code,
            usdc_micro=usdc_exact,
        )
    base = amount_base(usdc_exact)
    address = canonical_address(merchant.wallet_address)

    now = timezone.now()
    request = PaymentRequest(
        partner=partner,
        test_mode=tenant.test_mode,
        merchant=merchant,
        payment_mode=draft.payment_mode,
        fiat_int=draft.fiat_int,
        fiat_code=draft.fiat_code,
        fx_rate=rate.rate,
        fx_source=rate.source,
        memo=draft.memo,
        metadata=draft.metadata,
        return_url=draft.return_url,
        receiving_address=address,
        created_at=now,
        expires_at=now + timedelta(seconds=draft.expires_in_seconds),
        idempotency_key=draft.idempotency_key,
        idempotency_hash=draft.idempotency_hash,
    )
    moved = False
    for _ in range(REFERENCE_TRIES):
        # No look-up first: a unique index objects to a taken reference (32**6
        # codes, so rarely) or idempotency key, and nothing is written.
        request.reference = _reference()
        try:
            inserted = amount_insert_unique(request, base=base, now=now)
        except JoPayError as exc:
            fresh = None
            if exc.code == ErrorCode.MERCHANT_NOT_READY and not moved:
                fresh = merchant_moved_wallet(merchant, address)
            if fresh is None:
                raise
            # Only the wallet moved since the merchant was read: once more at
            # the new wallet (D28), with its own tag search (D15).
            moved, merchant = True, fresh
            address = canonical_address(fresh.wallet_address)
            request.merchant, request.receiving_address = fresh, address
            continue
        if inserted:
            return request, True
        if draft.idempotency_key:
            # Another create with this key committed first: one that waited on
            # the same wallet lock, or one for another wallet.
            existing = payment_request_replay(
                tenant=tenant,
                idempotency_key=draft.idempotency_key,
                idempotency_hash=draft.idempotency_hash,
            )
            if existing is not None:
                return existing, False
        # else a reference collision: draw again
    raise RuntimeError("could not draw a unique reference")  # ~impossible: 32**6 codes
