"""The recurring job charging a plan while its merchant moves its wallet (D28, D29).

The job reads the plan and its merchant when it claims the plan, and writes
the charge's request later. A staff wallet change committed in between (it
takes the old wallet's amount lock first, ``merchant_creates_drain``) made the
request's INSERT refuse the stale wallet (``tags._MERCHANT_READY``): the slot
got a failed ``merchant_not_ready`` charge, counting towards the pause, and
the period was lost although the merchant was ready at its new wallet. Now the
charge re-reads the merchant once and creates the request at the new wallet.

Real threads, each with its own PostgreSQL connection, committed transactions.
"""

from __future__ import annotations

import pytest

from jopay_project.errors import ErrorCode
from jopay_project.tenancy import Tenant
from merchants.models import Merchant
from payments.models import PaymentRequest
from payments.services.requests import PaymentRequestDraft, payment_request_create
from payments.services.tags import merchant_creates_drain
from recurring.models import Charge, Plan
from recurring.services.charging import plans_charge_due
from tests.factories import MerchantFactory
from tests.locks import race_held
from tests.recurring.conftest import plan_for

pytestmark = pytest.mark.django_db(transaction=True)

NEW_WALLET = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


@pytest.fixture
def plan(eur_rate) -> Plan:
    return plan_for(MerchantFactory())


def _move_wallet_while_the_job_charges(plan: Plan) -> dict:
    """A staff wallet change (as ``MerchantAdmin.save_model`` does it) holds
    its transaction open; the job claims the plan, reads the old wallet and
    waits on its lock; then the change commits."""

    def move():
        merchant_creates_drain(plan.merchant_id)
        Merchant.objects.filter(pk=plan.merchant_id).update(wallet_address=NEW_WALLET)
        return "moved"

    return race_held(("move", move), ("charge", plans_charge_due))


def test_a_wallet_moved_during_the_charge_charges_the_new_wallet(plan):
    results = _move_wallet_while_the_job_charges(plan)

    assert results["move"] == "moved", results
    assert results["charge waited"] is True, results
    summary = results["charge"]
    # Before: failed=1, a merchant_not_ready charge for a ready merchant.
    assert (summary.charged, summary.failed) == (1, 0), results
    charge = Charge.objects.get(plan=plan)
    assert charge.status == Charge.Status.CREATED, charge.failure_code
    request = charge.payment_request
    assert request.receiving_address == NEW_WALLET  # never the old wallet
    plan.refresh_from_db()
    assert plan.consecutive_failures == 0
    assert plan.charges_count == 1


def test_after_the_move_a_second_run_charges_nothing_more(plan):
    _move_wallet_while_the_job_charges(plan)

    again = plans_charge_due()

    assert (again.charged, again.failed) == (0, 0)
    assert Charge.objects.filter(plan=plan).count() == 1
    assert PaymentRequest.objects.count() == 1


def test_a_merchant_disabled_during_the_charge_still_fails_it(plan):
    """The fresh read retries only for a merchant that is ready now."""
    Merchant.objects.filter(pk=plan.merchant_id).update(disabled=True)

    summary = plans_charge_due()

    assert (summary.charged, summary.failed) == (0, 1)
    charge = Charge.objects.get(plan=plan)
    assert charge.failure_code == "merchant_not_ready"
    assert not PaymentRequest.objects.exists()


# --- the same race on a partner's create (POST /api/v1/requests) -----------------


def _create_while_the_wallet_moves(merchant: Merchant, **draft) -> dict:
    """The create read ``merchant`` (the old wallet) before a staff wallet change
    took the old wallet's lock; it waits on that lock, then the change commits."""
    change = draft.pop("change")

    def move():
        merchant_creates_drain(merchant.pk)
        Merchant.objects.filter(pk=merchant.pk).update(**change)
        return "moved"

    def create():
        request, created = payment_request_create(
            tenant=Tenant(partner=merchant.partner, test_mode=merchant.test_mode),
            draft=PaymentRequestDraft(
                merchant=merchant, fiat_int=2500, fiat_code="EUR", **draft
            ),
        )
        return request.receiving_address, created

    return race_held(("move", move), ("create", create))


@pytest.fixture
def merchant_read(eur_rate) -> Merchant:
    return MerchantFactory()


def test_a_create_racing_a_wallet_move_is_created_at_the_new_wallet(merchant_read):
    results = _create_while_the_wallet_moves(
        merchant_read, change={"wallet_address": NEW_WALLET}
    )

    assert results["create waited"] is True, results
    # Before: 409 merchant_not_ready, for a merchant complete and enabled.
    assert results["create"] == (NEW_WALLET, True), results
    assert PaymentRequest.objects.get().receiving_address == NEW_WALLET


def test_a_create_racing_a_disable_is_still_refused(merchant_read):
    results = _create_while_the_wallet_moves(
        merchant_read, change={"wallet_address": NEW_WALLET, "disabled": True}
    )

    assert results["create"] == ErrorCode.MERCHANT_NOT_READY, results
    assert not PaymentRequest.objects.exists()


def test_a_new_wallet_with_a_new_currency_is_still_refused(merchant_read):
    # The create checked its currency against the old display currency (D12).
    results = _create_while_the_wallet_moves(
        merchant_read, change={"wallet_address": NEW_WALLET, "display_currency": "USD"}
    )

    assert results["create"] == ErrorCode.MERCHANT_NOT_READY, results


def test_a_keyed_create_racing_a_wallet_move_replays_on_retry(merchant_read):
    results = _create_while_the_wallet_moves(
        merchant_read,
        change={"wallet_address": NEW_WALLET},
        idempotency_key="k" * 32,
        idempotency_hash="h" * 64,
    )
    assert results["create"] == (NEW_WALLET, True), results

    # D17: the retry (still holding the stale merchant) gets the original.
    again, created = payment_request_create(
        tenant=Tenant(partner=merchant_read.partner, test_mode=False),
        draft=PaymentRequestDraft(
            merchant=merchant_read,
            fiat_int=2500,
            fiat_code="EUR",
            idempotency_key="k" * 32,
            idempotency_hash="h" * 64,
        ),
    )
    assert (again.receiving_address, created) == (NEW_WALLET, False)
    assert PaymentRequest.objects.count() == 1
