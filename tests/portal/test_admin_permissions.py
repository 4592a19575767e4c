"""Admin permissions: viewing is not changing, and secrets are no lookup oracle.

Django offers an action lacking ``allowed_permissions`` to anyone who can see
the changelist, so a view-only staff user could cancel requests, revoke keys
or resend webhooks. And the admin accepts a querystring lookup on any field
of the model: ``?secret__startswith=…`` and its result count read a webhook
signing secret one character at a time (D8, D25).
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User

from merchants.keys import api_key_create
from merchants.models import ApiKey
from tests.portal.conftest import make_request
from webhooks.services import webhook_endpoint_set

pytestmark = pytest.mark.django_db


def view_only_client(client, *codenames: str):
    user = User.objects.create_user("viewer", password="x" * 12, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


def test_every_admin_action_needs_more_than_the_view_permission():
    unguarded = [
        f"{type(model_admin).__name__}.{name}"
        for model_admin in admin.site._registry.values()
        for name in model_admin.actions or ()
        if isinstance(name, str)
        and not getattr(getattr(model_admin, name), "allowed_permissions", None)
    ]
    assert unguarded == []


def test_a_view_only_user_cannot_cancel_a_request(client, merchant):
    pr = make_request(merchant, fiat_int=1999)
    viewer = view_only_client(client, "view_paymentrequest")

    viewer.post(
        "/admin/payments/paymentrequest/",
        {"action": "cancel", "_selected_action": [str(pr.pk)], "post": "yes"},
    )

    pr.refresh_from_db()
    assert pr.status != "cancelled"


def test_a_view_only_user_cannot_revoke_a_key(client, partner):
    key, _ = api_key_create(partner=partner, test_mode=False, scopes=None)
    viewer = view_only_client(client, "view_apikey")

    viewer.post(
        "/admin/merchants/apikey/",
        {"action": "revoke", "_selected_action": [str(key.pk)], "post": "yes"},
    )

    assert ApiKey.objects.get(pk=key.pk).revoked_at is None


@pytest.mark.parametrize(
    ("url", "lookup"),
    [
        ("/admin/webhooks/webhookendpoint/", "secret__startswith"),
        ("/admin/webhooks/webhookendpoint/", "previous_secret__startswith"),
        ("/admin/merchants/apikey/", "key_hash__startswith"),
        ("/admin/merchants/merchant/", "onboarding_token_hash__startswith"),
    ],
)
def test_secrets_cannot_be_filtered_on(admin_client, partner, url, lookup):
    endpoint, _ = webhook_endpoint_set(
        partner=partner, url="https://127.0.0.1:1/hook", enabled=True
    )

    answer = admin_client.get(url, {lookup: endpoint.secret[:1]})

    assert answer.status_code == 400
    assert admin_client.get(url).status_code == 200  # the page itself still works


# --- no delete where changes go through services ----------------------------------

# Each of these is changed by a service that locks, logs and keeps the history;
# a delete page bypassed all of it (a revoked key, a disabled endpoint, a
# cleared FX pin, an abandoned delivery leave a trace; a deleted row leaves
# none). Requests and plans were already refused.
NO_DELETE = [
    "merchants.partner",
    "merchants.merchant",
    "merchants.apikey",
    "payments.fxrate",
    "payments.chain",
    "payments.paymentrequest",
    "recurring.plan",
    "webhooks.webhookendpoint",
    "webhooks.webhookevent",
    "webhooks.webhookdelivery",
]


@pytest.mark.parametrize("label", NO_DELETE)
def test_service_owned_models_offer_no_delete(rf, admin_user, label):
    from django.apps import apps

    model_admin = admin.site._registry[apps.get_model(label)]
    request = rf.get("/admin/")
    request.user = admin_user

    assert model_admin.has_delete_permission(request) is False
    assert "delete_selected" not in model_admin.get_actions(request)


def test_the_delete_pages_answer_403(admin_client, merchant, settings):
    from decimal import Decimal

    from payments.services import fx_rate_set_manual

    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    key, _ = api_key_create(partner=merchant.partner, test_mode=False)
    endpoint, _ = webhook_endpoint_set(
        partner=merchant.partner, url="https://127.0.0.1:1/hook"
    )
    rate = fx_rate_set_manual(currency="EUR", rate=Decimal("0.92"))
    rows = {
        "merchants/partner": merchant.partner,
        "merchants/merchant": merchant,
        "merchants/apikey": key,
        "payments/fxrate": rate,
        "webhooks/webhookendpoint": endpoint,
    }
    for path, row in rows.items():
        page = admin_client.get(f"/admin/{path}/{row.pk}/delete/")
        assert page.status_code == 403, path
        answer = admin_client.post(f"/admin/{path}/{row.pk}/delete/", {"post": "yes"})
        assert answer.status_code == 403, path
        assert type(row).objects.filter(pk=row.pk).exists(), path
