"""Payment requests: create (idempotent, unique amount), cancel, expire (D11-D18).

Every state change writes its webhook event with ``event_emit`` inside the same
transaction (D24). Network I/O never happens here.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from time import monotonic

from django.db import transaction
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.tenancy import Tenant
from merchants.models import Merchant
from payments.models import FxRate, PaymentRequest
from payments.money import fiat_to_usdc_micro
from payments.serializers import payment_request_event_data
from webhooks.services import event_emit

from .amounts import amount_base, amount_check_limits
from .fx import fx_rate_for, fx_rate_usable
from .tags import amount_insert_unique, canonical_address, merchant_moved_wallet

# spec §1.5: short public reference, no look-alikes (0/O, 1/I).
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 6
REFERENCE_TRIES = 8
EXPIRE_BATCH_SIZE = 500
CANCELLABLE_PROOF_STATUSES = (
    PaymentRequest.ProofStatus.NONE,
    PaymentRequest.ProofStatus.MISMATCH,
)


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


def _locked_for_tenant(tenant: Tenant, request_id: uuid.UUID) -> PaymentRequest:
    try:
        return (
            PaymentRequest.objects.for_tenant(tenant)
            .select_for_update(of=("self",))
            .select_related("merchant")
            .get(pk=request_id)
        )
    except PaymentRequest.DoesNotExist:
        raise JoPayError(ErrorCode.NOT_FOUND) from None


def payment_request_cancel(*, tenant: Tenant, request_id: uuid.UUID) -> PaymentRequest:
    """Cancel a request of ``tenant`` (D18) and write ``request.cancelled``.

    Allowed while ``status`` is requested/opened, ``expires_at`` is still ahead
    and ``proof_status`` is none/mismatch; a second cancel returns the request
    unchanged (no event).
    Raises ``not_found`` (unknown, foreign, other mode) or
    ``request_not_cancellable``. The row is locked, so a cancel cannot race a
    proof attach or the expiry task.

    A request past ``expires_at`` that the expiry job (every 60 s) has not
    reached yet is expired here, as the job would (``request.expired`` in the
    same transaction), before the refusal: a GET right after the refusal then
    says ``expired``, not the ``requested`` the refusal contradicted (D16).
    """
    request, expired_now = _cancel(tenant, request_id)
    if expired_now:
        raise JoPayError(ErrorCode.REQUEST_NOT_CANCELLABLE)
    return request


@transaction.atomic
def _cancel(tenant: Tenant, request_id: uuid.UUID) -> tuple[PaymentRequest, bool]:
    request = _locked_for_tenant(tenant, request_id)
    if request.status == PaymentRequest.Status.CANCELLED:
        return request, False
    if (
        request.status not in PaymentRequest.OPEN_STATUSES
        or request.proof_status not in CANCELLABLE_PROOF_STATUSES
    ):
        raise JoPayError(ErrorCode.REQUEST_NOT_CANCELLABLE)
    now = timezone.now()
    if request.expires_at <= now:
        # Expired by its timestamp (errors.md: "expired" is not cancellable).
        # A cancel inside the D20 grace would also refuse a transfer mined
        # before expires_at.
        _expire(request, now)
        return request, True
    _close(request, PaymentRequest.Status.CANCELLED, now)
    return request, False


def _expire(request: PaymentRequest, now: datetime) -> None:
    _close(request, PaymentRequest.Status.EXPIRED, now)


def _close(request: PaymentRequest, status: str, now: datetime) -> None:
    """``requested``/``opened`` → ``cancelled`` or ``expired``, its time stamped,
    and its ``request.<status>`` event in the same transaction (D16, D18, D23).
    The caller holds the row's lock and has checked that no proof holds it."""
    at = f"{status}_at"  # cancelled_at, expired_at
    request.status = status
    setattr(request, at, now)
    request.save(update_fields=["status", at, "updated_at"])
    event_emit(
        partner=request.partner,
        test_mode=request.test_mode,
        type=f"request.{status}",
        data=payment_request_event_data(request),
        request_id=request.pk,
    )


def payment_requests_expire_due(
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    budget_seconds: int | None = None,
) -> int:
    """Expire every open request past ``expires_at`` with no pending proof (D11, D16).

    Only ``proof_status`` none/mismatch are expired: an attached proof is being
    verified and a verified one is paid. Each expired request gets one
    ``request.expired`` event in the same transaction. Works in batches with
    ``SKIP LOCKED`` so a request being cancelled or proven is left for the next
    run; running twice (or two workers at once) expires each request once.
    With ``budget_seconds`` no batch starts after that long: the rest of a
    backlog is left for the next run. Returns how many requests this call
    expired.
    """
    batch_size = batch_size or EXPIRE_BATCH_SIZE
    started = monotonic()
    total = 0
    while True:
        expired = _expire_batch(now=now or timezone.now(), batch_size=batch_size)
        total += expired
        if expired < batch_size:
            return total
        if budget_seconds is not None and monotonic() - started >= budget_seconds:
            return total


@transaction.atomic(durable=True)
def _expire_batch(*, now: datetime, batch_size: int) -> int:
    due: list[PaymentRequest] = []
    # One status at a time: each reads ``request_expiry`` (status, expires_at)
    # in order and stops at the batch. Both statuses in one IN list could not
    # be read in that order, so every batch read and sorted every due row:
    # 440 ms a batch with 200 000 due (after an outage), 1.6 ms this way.
    for status in PaymentRequest.OPEN_STATUSES:
        due += (
            PaymentRequest.objects.select_for_update(skip_locked=True, of=("self",))
            # The partner for event_emit; not the merchant: the event names it
            # by merchant_id, a column of the row (D23), and the tenant
            # (partner, test_mode) is the row's own.
            .select_related("partner")
            .filter(
                status=status,
                proof_status__in=CANCELLABLE_PROOF_STATUSES,
                expires_at__lte=now,
            )
            .order_by("expires_at")[: batch_size - len(due)]
        )
        if len(due) >= batch_size:
            break
    for request in due:
        _expire(request, now)
    return len(due)
