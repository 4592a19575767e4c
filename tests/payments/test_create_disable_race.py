"""A create racing a disable or a wallet change of its merchant (D28, D15).

The create reads the merchant once (``payment_request_create_context``) and
writes its row later. Before, a disable or a new wallet committed between the
two did not stop it: the request was created, and answered 201, after the
disable had returned, or it asked the customer to pay the old wallet. Now the
INSERT itself checks the merchant (``tags._MERCHANT_READY``) after taking the
wallet's lock, and whatever stops the merchant taking requests there takes
that lock first: one of the two waits for the other.
"""

from __future__ import annotations

import pytest
from eth_utils import to_checksum_address

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.tenancy import Tenant
from merchants.models import Merchant
from merchants.services import merchant_update
from payments.models import PaymentRequest
from payments.services.requests import PaymentRequestDraft, payment_request_create
from tests.factories import MerchantFactory
from tests.locks import race_held
from tests.merchants.test_admin import post_change

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("rates")]

ELSEWHERE = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def _create(merchant: Merchant) -> str:
    """Create with ``merchant`` as the create read it (maybe stale now)."""
    request, _ = payment_request_create(
        tenant=Tenant(partner=merchant.partner, test_mode=merchant.test_mode),
        draft=PaymentRequestDraft(merchant=merchant, fiat_int=2500, fiat_code="EUR"),
    )
    return request.receiving_address


@pytest.fixture
def merchant_read():
    """A ready merchant, as a create read it before the change below."""
    return MerchantFactory()


@pytest.mark.parametrize(
    "change",
    [{"disabled": True}, {"wallet_address": ""}],
    ids=["disabled", "no wallet"],
)
def test_a_change_committed_after_the_create_read_the_merchant_refuses_it(
    merchant_read, change
):
    Merchant.objects.filter(pk=merchant_read.pk).update(**change)

    with pytest.raises(JoPayError) as refused:
        _create(merchant_read)

    assert refused.value.code == ErrorCode.MERCHANT_NOT_READY
    assert not PaymentRequest.objects.exists()  # nothing half-written


def test_a_new_wallet_committed_after_the_create_read_the_merchant_is_used(
    merchant_read,
):
    # The customer must never be asked to pay the old wallet; the merchant is
    # still ready (errors.md), so the create retries at the new one.
    Merchant.objects.filter(pk=merchant_read.pk).update(wallet_address=ELSEWHERE)

    assert _create(merchant_read) == ELSEWHERE
    assert PaymentRequest.objects.get().receiving_address == ELSEWHERE


def test_after_a_new_wallet_the_merchant_as_it_is_now_takes_requests(merchant_read):
    Merchant.objects.filter(pk=merchant_read.pk).update(wallet_address=ELSEWHERE)

    assert _create(Merchant.objects.get(pk=merchant_read.pk)) == ELSEWHERE


def test_the_wallet_check_ignores_the_letter_case_it_is_stored_in(merchant_read):
    # The request carries the EIP-55 spelling; a lower-case stored wallet is
    # the same wallet (D15 compares the canonical form).
    Merchant.objects.filter(pk=merchant_read.pk).update(
        wallet_address=merchant_read.wallet_address.lower()
    )
    merchant_read.refresh_from_db()

    assert _create(merchant_read) == to_checksum_address(merchant_read.wallet_address)
    assert PaymentRequest.objects.count() == 1


def _while_a_create_is_in_flight(merchant: Merchant, change) -> dict:
    """Run ``change`` in a thread while a create holds its transaction open
    after its INSERT; return both outcomes, and whether ``change`` had to wait."""
    return race_held(("create", lambda: _create(merchant)), ("change", change))


def test_a_disable_waits_for_the_create_in_flight_so_none_commits_after_it(
    merchant_read,
):
    results = _while_a_create_is_in_flight(
        merchant_read,
        lambda: merchant_update(merchant=merchant_read, changes={"disabled": True}),
    )

    # Before the fix the disable returned at once, and the create committed
    # after it: a 201 for a merchant already disabled.
    assert results["change waited"] is True, results
    assert results["create"] == merchant_read.wallet_address
    assert isinstance(results["change"], Merchant)
    assert results["change"].disabled
    with pytest.raises(JoPayError) as refused:  # and after it, nothing more
        _create(merchant_read)
    assert refused.value.code == ErrorCode.MERCHANT_NOT_READY


def test_other_merchant_updates_do_not_wait_for_creates(merchant_read):
    results = _while_a_create_is_in_flight(
        merchant_read,
        lambda: merchant_update(
            merchant=merchant_read, changes={"display_name": "Renamed"}
        ),
    )

    assert results["change waited"] is False, results
    assert results["create"] == merchant_read.wallet_address


@pytest.mark.parametrize(
    "changes", [{"disabled": True}, {"wallet_address": ELSEWHERE}], ids=str
)
def test_a_staff_disable_or_new_wallet_waits_for_the_create_in_flight(
    admin_client, merchant_read, changes
):
    def staff_saves():
        return post_change(admin_client, merchant_read, **changes).status_code

    results = _while_a_create_is_in_flight(merchant_read, staff_saves)

    assert results["change waited"] is True, results
    assert results["change"] == 302
    assert results["create"] == merchant_read.wallet_address
