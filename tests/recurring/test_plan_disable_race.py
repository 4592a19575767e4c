"""A plan create racing a disable of its merchant (D28, D29).

The create checked the merchant it was handed (read by the view before) and
wrote the plan later. A disable committing in between did not stop it: the
plan was created, answered 201, for a merchant already disabled, and its
charges then failed until it paused. Now the create re-reads the merchant
under a share lock held until the plan is written
(``plan_checks.lock_ready_merchant``), and every disable locks the row for
update: one of the two waits for the other.

Real threads, each with its own PostgreSQL connection, committed transactions.
"""

from __future__ import annotations

import threading

import pytest

from jopay_project.errors import ErrorCode, JoPayError
from merchants.models import Merchant
from merchants.services import merchant_update
from recurring.models import Plan
from recurring.services import plans
from tests.factories import MerchantFactory
from tests.locks import race, race_held
from tests.merchants.test_admin import post_change
from tests.recurring.conftest import plan_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def merchant_read(eur_rate):
    """A ready merchant, as the create's caller read it before the disable."""
    return MerchantFactory()


def _create(merchant: Merchant) -> Plan:
    return plan_for(merchant)


def _disable(merchant: Merchant):
    return lambda: merchant_update(merchant=merchant, changes={"disabled": True})


def test_a_disable_committed_after_the_caller_read_the_merchant_refuses_the_plan(
    merchant_read,
):
    Merchant.objects.filter(pk=merchant_read.pk).update(disabled=True)

    with pytest.raises(JoPayError) as refused:
        _create(merchant_read)  # the stale, still-ready copy

    assert refused.value.code == ErrorCode.MERCHANT_NOT_READY
    assert not Plan.objects.exists()


def test_a_create_waits_for_a_disable_in_flight_then_is_refused(merchant_read):
    """The disable holds its transaction open; the create must wait for it and
    then see the merchant disabled (before: it passed its check on the stale
    copy, and its INSERT merely waited for the row, then wrote the plan)."""
    results = race_held(
        ("disable", _disable(merchant_read)), ("create", lambda: _create(merchant_read))
    )

    assert results["create waited"] is True, results
    assert results["create"] == ErrorCode.MERCHANT_NOT_READY, results
    assert not Plan.objects.exists()


@pytest.fixture
def create_paused_after_its_check(monkeypatch):
    """Hold a create between its readiness check and its INSERT."""
    checked, release = threading.Event(), threading.Event()
    real = plans.check_currency

    def check_currency(*args, **kwargs):
        checked.set()
        assert release.wait(20)
        return real(*args, **kwargs)

    monkeypatch.setattr(plans, "check_currency", check_currency)
    return checked, release


def _disable_during_a_create(merchant: Merchant, hold, disable) -> dict:
    return race(("create", lambda: _create(merchant)), ("disable", disable), *hold)


def test_a_disable_waits_for_a_create_past_its_check_so_no_plan_follows_it(
    merchant_read, create_paused_after_its_check
):
    results = _disable_during_a_create(
        merchant_read, create_paused_after_its_check, _disable(merchant_read)
    )

    # Before the fix the disable returned at once and the plan was written
    # after it: a new plan for a merchant already disabled.
    assert results["disable waited"] is True, results
    assert isinstance(results["create"], Plan), results
    assert isinstance(results["disable"], Merchant), results
    assert results["disable"].disabled
    plan = Plan.objects.get()
    merchant = Merchant.objects.get(pk=merchant_read.pk)
    # The plan committed first: it is older than the disable.
    assert plan.created_at <= merchant.updated_at
    with pytest.raises(JoPayError) as refused:  # and after it, nothing more
        _create(merchant_read)
    assert refused.value.code == ErrorCode.MERCHANT_NOT_READY


def test_a_staff_disable_in_the_admin_waits_for_the_create_too(
    admin_client, merchant_read, create_paused_after_its_check
):
    results = _disable_during_a_create(
        merchant_read,
        create_paused_after_its_check,
        lambda: post_change(admin_client, merchant_read, disabled=True).status_code,
    )

    assert results["disable waited"] is True, results
    assert results["disable"] == 302
    assert isinstance(results["create"], Plan), results


def test_creates_for_one_merchant_do_not_wait_for_each_other(merchant_read):
    """SHARE, not UPDATE: a create holding the lock does not block another."""
    results = race_held(
        ("first", lambda: _create(merchant_read)),
        ("second", lambda: _create(merchant_read)),
    )

    assert results["second waited"] is False, results
    assert isinstance(results["first"], Plan)
    assert isinstance(results["second"], Plan)
