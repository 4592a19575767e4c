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
        {"action": "cancel", "_selected_action": [str(pr.pk)]},
    )

    pr.refresh_from_db()
    assert pr.status != "cancelled"


def test_a_view_only_user_cannot_revoke_a_key(client, partner):
    key, _ = api_key_create(partner=partner, test_mode=False, scopes=None)
    viewer = view_only_client(client, "view_apikey")

    viewer.post(
        "/admin/merchants/apikey/",
        {"action": "revoke", "_selected_action": [str(key.pk)]},
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
