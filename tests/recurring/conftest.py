"""Fixtures for recurring tests: FX rates (charges need them) and plan helpers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from jopay_project.tenancy import Tenant
from payments.models import FxRate
from recurring.models import Plan
from recurring.services import plan_create

# Lower-case hex: no checksum to get wrong; a different wallet from the merchant's.
CUSTOMER = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"
CUSTOMER_EIP55 = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


@pytest.fixture
def eur_rate(db):
    """A pinned manual rate (never stale), as ``set_fx_rate --currency EUR`` stores."""
    return FxRate.objects.create(
        currency="EUR", rate=Decimal("0.92"), source="manual", pinned=True
    )


def plan_for(merchant, **overrides) -> Plan:
    """A plan of ``merchant`` through the real create service: 2500 monthly
    from ``CUSTOMER`` unless ``overrides`` say otherwise."""
    values = {
        "fiat_amount_int": 2500,
        "frequency": "monthly",
        "customer_wallet": CUSTOMER,
    }
    values.update(overrides)
    return plan_create(
        partner=merchant.partner,
        test_mode=merchant.test_mode,
        merchant=merchant,
        **values,
    )


@pytest.fixture
def make_plan(merchant):
    """``make_plan(**overrides)`` → a plan through the real create service."""

    def make(**overrides) -> Plan:
        return plan_for(overrides.pop("merchant", merchant), **overrides)

    return make


def tenant_of(plan: Plan) -> Tenant:
    return Tenant(partner=plan.partner, test_mode=plan.test_mode)
