"""Service guarantees HTTP tests cannot pin down deterministically (locks, races)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.tenancy import Tenant
from merchants.models import Merchant
from merchants.onboarding_complete import merchant_onboarding_complete
from merchants.onboarding_links import merchant_onboarding_link
from merchants.services import (
    merchant_create,
    merchant_update,
)
from tests.factories import WALLET


def _shell(partner) -> tuple[Merchant, str]:
    result = merchant_create(
        tenant=Tenant(partner, False), fields={"display_name": "S"}
    )
    link = merchant_onboarding_link(merchant=result.merchant)
    return result.merchant, link.url.rstrip("/").rsplit("/", 1)[1]


@pytest.mark.django_db(transaction=True)
def test_a_submit_racing_an_uncommitted_one_waits_for_the_lock_and_gets_not_found(
    partner,
):
    """The first submit holds its transaction open; the second must block on the
    row lock and then find the link burnt, not read the stale row and apply too."""
    merchant, token = _shell(partner)
    first_locked, second_started = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first():
        try:
            with transaction.atomic():
                merchant_onboarding_complete(
                    token=token, wallet_address=WALLET, terms_accepted=True
                )
                first_locked.set()
                second_started.wait(5)
                time.sleep(
                    0.3
                )  # the second call is now blocked (or reading stale data)
        finally:
            connection.close()

    def second():
        first_locked.wait(5)
        second_started.set()
        try:
            merchant_onboarding_complete(
                token=token, wallet_address=WALLET.lower(), terms_accepted=True
            )
            outcome["second"] = "applied"
        except JoPayError as err:
            outcome["second"] = err.code
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert outcome == {"second": ErrorCode.NOT_FOUND}
    merchant.refresh_from_db()
    assert merchant.wallet_address == WALLET


@pytest.mark.django_db
def test_onboarding_complete_refuses_bad_input_without_writing(partner):
    merchant, token = _shell(partner)
    for kwargs, code in [
        (
            {"wallet_address": "0x12", "terms_accepted": True},
            ErrorCode.INVALID_WALLET_ADDRESS,
        ),
        (
            {"wallet_address": WALLET, "terms_accepted": False},
            ErrorCode.INVALID_REQUEST,
        ),
    ]:
        with pytest.raises(JoPayError) as info:
            merchant_onboarding_complete(token=token, **kwargs)
        assert info.value.code is code
    merchant.refresh_from_db()
    assert merchant.onboarding_status == Merchant.OnboardingStatus.INCOMPLETE
    with pytest.raises(JoPayError) as info:
        merchant_onboarding_complete(
            token="x" * 43, wallet_address=WALLET, terms_accepted=True
        )
    assert info.value.code is ErrorCode.NOT_FOUND


@pytest.mark.django_db
def test_create_rejects_fields_it_does_not_know(partner):
    with pytest.raises(ValueError, match="unknown merchant fields"):
        merchant_create(tenant=Tenant(partner, False), fields={"disabled": True})
    assert Merchant.objects.count() == 0


@pytest.mark.django_db
def test_update_rejects_fields_it_does_not_update(merchant):
    with pytest.raises(ValueError, match="not updatable"):
        merchant_update(merchant=merchant, changes={"wallet_address": WALLET.lower()})


@pytest.mark.django_db
def test_link_of_a_complete_merchant_is_none(merchant):
    assert merchant_onboarding_link(merchant=merchant) is None


@pytest.mark.django_db
def test_renewal_race_losers_show_the_winners_link(partner):
    """Two readers of an expired link: the second, holding a stale copy, must not
    overwrite the first's fresh link but show it."""
    merchant, _ = _shell(partner)
    Merchant.objects.filter(pk=merchant.pk).update(onboarding_token_hash="")
    stale_a = Merchant.objects.get(pk=merchant.pk)
    stale_b = Merchant.objects.get(pk=merchant.pk)
    link_a = merchant_onboarding_link(merchant=stale_a)
    link_b = merchant_onboarding_link(merchant=stale_b)
    assert link_a is not None
    assert link_b == link_a
