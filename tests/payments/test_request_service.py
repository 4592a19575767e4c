"""payment_request_create called directly (as the recurring job does)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.tenancy import Tenant
from payments.models import PaymentRequest
from payments.services.requests import PaymentRequestDraft, payment_request_create
from tests.factories import MerchantFactory

pytestmark = pytest.mark.usefixtures("rates")


def test_creates_with_the_drafts_values(partner, merchant):
    draft = PaymentRequestDraft(
        merchant=merchant,
        fiat_int=2500,
        fiat_code="EUR",
        payment_mode="invoice",
        expires_in_seconds=7200,
        metadata={"plan_id": "p"},
    )
    request, created = payment_request_create(
        tenant=Tenant(partner=partner, test_mode=False), draft=draft
    )
    assert created is True
    assert (request.payment_mode, request.metadata) == ("invoice", {"plan_id": "p"})
    assert (request.expires_at - request.created_at).total_seconds() == 7200
    assert request.fx_rate == Decimal("0.92")
    assert request.fx_source == "test-feed"


@pytest.mark.parametrize("stranger", ["other_partner", "other_mode"])
def test_a_merchant_of_another_tenant_is_refused(partner, other_partner, stranger):
    merchant = (
        MerchantFactory(partner=other_partner)
        if stranger == "other_partner"
        else MerchantFactory(partner=partner, test_mode=True)
    )
    draft = PaymentRequestDraft(merchant=merchant, fiat_int=2500, fiat_code="EUR")
    with pytest.raises(JoPayError) as info:
        payment_request_create(
            tenant=Tenant(partner=partner, test_mode=False), draft=draft
        )
    assert info.value.code == ErrorCode.NOT_FOUND
    assert not PaymentRequest.objects.exists()
