"""Actions that cannot be undone ask first (``jopay_project.admin_actions``).

One click on "Go" revoked keys, disabled a partner's webhooks, cancelled
requests or cleared FX pins. Now the first POST answers a page listing the
rows and what will happen; only its Confirm button, posting the same ids back
with ``post=yes``, runs the action, and Cancel goes back to the list.
(Plans: tests/recurring/test_admin.py.)
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from jopay_project import admin_actions
from merchants.keys import api_key_create
from merchants.models import ApiKey
from payments.models import FxRate, PaymentRequest
from payments.services import fx_rate_set_manual
from tests.portal.conftest import make_request
from tests.portal.test_admin import texts
from webhooks.models import WebhookEndpoint
from webhooks.services import webhook_endpoint_set

pytestmark = pytest.mark.django_db

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def confirm_form(page) -> dict[str, list[str]]:
    """The hidden fields the confirmation page's Confirm button posts."""
    data: dict[str, list[str]] = {}
    for name, value in _HIDDEN.findall(page.content.decode()):
        data.setdefault(name, []).append(value)
    return data


def _key(merchant):
    key, _ = api_key_create(partner=merchant.partner, test_mode=False)
    return key, lambda: ApiKey.objects.get(pk=key.pk).revoked_at is not None


def _endpoint(merchant):
    endpoint, _ = webhook_endpoint_set(
        partner=merchant.partner, url="https://127.0.0.1:1/hook", enabled=True
    )
    return endpoint, lambda: not WebhookEndpoint.objects.get(pk=endpoint.pk).enabled


def _request(merchant):
    pr = make_request(merchant)
    return pr, lambda: PaymentRequest.objects.get(pk=pr.pk).status == "cancelled"


def _pin(merchant):
    rate = fx_rate_set_manual(currency="USD", rate=Decimal("1"))
    return rate, lambda: not FxRate.objects.get(pk=rate.pk).pinned


ACTIONS = [
    pytest.param("/admin/merchants/apikey/", "revoke", _key, id="revoke-keys"),
    pytest.param(
        "/admin/webhooks/webhookendpoint/", "disable", _endpoint, id="disable-hooks"
    ),
    pytest.param(
        "/admin/payments/paymentrequest/", "cancel", _request, id="cancel-request"
    ),
    pytest.param("/admin/payments/fxrate/", "clear_manual", _pin, id="clear-pin"),
]


@pytest.fixture(autouse=True)
def _loopback_webhooks(settings):
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True


@pytest.mark.parametrize(("url", "action", "make"), ACTIONS)
def test_the_first_post_only_asks(admin_client, merchant, url, action, make):
    row, done = make(merchant)

    page = admin_client.post(url, {"action": action, "_selected_action": [row.pk]})

    assert page.status_code == 200
    assert "admin/action_confirmation.html" in [t.name for t in page.templates]
    listed = page.content.decode()  # the rows, each linked to its page
    assert (
        f'<a href="{url}{row.pk}/change/">{type(row).objects.get(pk=row.pk)}' in listed
    )
    assert not done()


@pytest.mark.parametrize(("url", "action", "make"), ACTIONS)
def test_confirm_posts_the_listed_rows_back_and_runs_it(
    admin_client, merchant, url, action, make
):
    row, done = make(merchant)
    page = admin_client.post(url, {"action": action, "_selected_action": [row.pk]})
    form = confirm_form(page)
    assert form["action"] == [action]
    assert form["_selected_action"] == [str(row.pk)]
    assert form["post"] == ["yes"]

    answer = admin_client.post(url, form)

    assert answer.status_code == 302
    assert done()


@pytest.mark.parametrize(("url", "action", "make"), ACTIONS)
def test_cancel_goes_back_to_the_list_as_it_was(
    admin_client, merchant, url, action, make
):
    row, done = make(merchant)
    listed = f"{url}?o=1"  # the list's ordering (or filters) survive

    page = admin_client.post(
        listed, {"action": action, "_selected_action": [row.pk]}
    ).content.decode()

    assert f'<a href="{listed}" class="button cancel-link">' in page
    assert f'<form method="post" action="{listed}">' in page
    assert f'name="_selected_action" value="{row.pk}"' in page
    assert not done()


def test_too_many_rows_are_refused_before_asking(admin_client, merchant, monkeypatch):
    monkeypatch.setattr(admin_actions, "MAX_ROWS", 1)
    first, second = make_request(merchant), make_request(merchant)

    answer = admin_client.post(
        "/admin/payments/paymentrequest/",
        {"action": "cancel", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )

    assert any("Select at most 1 rows" in t for t in texts(answer))
    assert set(PaymentRequest.objects.values_list("status", flat=True)) == {"requested"}


def test_revoke_reports_how_many_keys_it_revoked(admin_client, partner):
    # "Revoked." was said even when every selected key was revoked already.
    active, _ = api_key_create(partner=partner, test_mode=False)
    old, _ = api_key_create(partner=partner, test_mode=True)
    ApiKey.objects.filter(pk=old.pk).update(revoked_at="2026-01-01T00:00:00Z")
    url = "/admin/merchants/apikey/"

    both = admin_client.post(
        url,
        {"action": "revoke", "_selected_action": [active.pk, old.pk], "post": "yes"},
        follow=True,
    )
    again = admin_client.post(
        url,
        {"action": "revoke", "_selected_action": [active.pk], "post": "yes"},
        follow=True,
    )

    assert texts(both) == ["Revoked 1 key(s). 1 already revoked, left as they were."]
    assert texts(again) == ["Revoked 0 key(s). 1 already revoked, left as they were."]
