"""Every admin page as a member of staff who may only look.

A view-only permission draws the change form with every field read-only, so
the form class gets no fields: ``ChainForm.__init__`` indexed
``self.fields["chain_id"]`` and a chain's page was a 500 for anyone holding
``view_chain`` alone. Such a user also sees no secret there: a chain's RPC
URLs may carry a provider's API key and are never drawn read-only.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse

from jopay_project.tenancy import Tenant
from payments.models import Chain, FxRate
from payments.services import payment_request_cancel
from recurring.services import plan_create
from tests.factories import make_key
from tests.portal.conftest import make_request
from tests.recurring.conftest import CUSTOMER
from webhooks.services import webhook_endpoint_set

pytestmark = pytest.mark.django_db

RPC_WITH_KEY = "https://base-mainnet.example/v2/PROVIDER-SECRET-KEY"


@pytest.fixture
def rows(partner, merchant):
    """At least one row of every registered model."""
    make_key(partner)  # and its audit entry
    webhook_endpoint_set(partner=partner, url="https://127.0.0.1:1/hook", enabled=True)
    request = make_request(merchant)
    # An event and its delivery.
    payment_request_cancel(tenant=Tenant(partner, False), request_id=request.pk)
    FxRate.objects.create(
        currency="EUR", rate=Decimal("0.92"), source="manual", pinned=True
    )
    plan_create(
        partner=partner,
        test_mode=False,
        merchant=merchant,
        fiat_amount_int=2500,
        frequency="monthly",
        customer_wallet=CUSTOMER,
    )
    Group.objects.create(name="support")
    Chain.objects.update_or_create(
        chain_id=84532,
        defaults={
            "name": "Base Sepolia",
            "rpc_urls": [RPC_WITH_KEY],
            "usdc_address": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
            "is_testnet": True,
        },
    )


def viewer_of(model) -> Client:
    codename = f"view_{model._meta.model_name}"
    user = User.objects.create_user(
        f"viewer-{model._meta.model_name}", password="x" * 12, is_staff=True
    )
    user.user_permissions.set(
        Permission.objects.filter(
            codename=codename, content_type__app_label=model._meta.app_label
        )
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "model",
    list(admin.site._registry),
    ids=lambda m: f"{m._meta.app_label}.{m._meta.model_name}",
)
def test_a_view_only_user_opens_the_list_and_a_row(rows, model):
    client = viewer_of(model)
    prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"

    listing = client.get(reverse(f"{prefix}_changelist"))
    assert listing.status_code == 200

    row = model._default_manager.first()
    # A model registered later without a row in ``rows`` fails here rather
    # than passing with its change page never opened.
    assert row is not None, f"add a {model._meta.label} row to the fixture"
    page = client.get(reverse(f"{prefix}_change", args=[row.pk]))
    assert page.status_code == 200
    assert RPC_WITH_KEY.encode() not in page.content
