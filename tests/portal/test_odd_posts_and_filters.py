"""Portal inputs that are not what its own pages send: never a silent, wrong effect.

* The webhook switch without its field turned sending off and abandoned every
  pending delivery (a missing value read as "off"); like the merchant switch,
  it now answers 400 and changes nothing.
* So did a webhook URL post without its field (read as "": URL removed), and
  a settings post without the maximum dropped the partner's maximum.
* A request list with an invalid filter ignores that filter (and says so, next
  to it), but it also dropped the cursor: "Older requests" showed page 1 for
  ever (D18); and it dropped the valid filters beside it.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.portal.conftest import make_request
from webhooks.models import WebhookEndpoint
from webhooks.services import webhook_endpoint_set

pytestmark = pytest.mark.django_db

REFERENCE = re.compile(r'href="/portal/requests/[0-9a-f-]+/">(R\d{4})</a>')
NEXT = re.compile(r'href="\?([^"]*cursor=[^"]+)"')


@pytest.fixture
def sending(partner) -> WebhookEndpoint:
    url = "https://127.0.0.1:9443/jopay/hooks"
    return webhook_endpoint_set(partner=partner, url=url, enabled=True)[0]


@pytest.mark.parametrize("body", [{}, {"enabled": ""}, {"enabled": "yes"}])
def test_the_webhook_switch_without_a_choice_changes_nothing(portal, sending, body):
    response = portal.post("/portal/webhooks/enabled/", body)
    assert response.status_code == 400
    assert WebhookEndpoint.objects.get(pk=sending.pk).enabled is True


def test_older_requests_page_on_with_an_invalid_filter(portal, merchant):
    now = timezone.now()
    for i in range(30):
        make_request(
            merchant, created_at=now - timedelta(seconds=i), reference=f"R{i:04d}"
        )
    url, seen = "/portal/requests/?created_from=garbage", []
    while url:
        html = portal.get(url).content.decode()
        seen += REFERENCE.findall(html)
        more = NEXT.search(html)
        url = more and "/portal/requests/?" + more.group(1).replace("&amp;", "&")
        assert len(seen) <= 30, "a page came twice"
    assert seen == [f"R{i:04d}" for i in range(30)]


@pytest.mark.parametrize("body", [{}, {"other": "x"}])
def test_a_url_post_without_its_field_changes_nothing(portal, sending, body):
    """A missing ``url`` read as "" removed the URL, switched sending off and
    abandoned every pending delivery; the page's own form always sends it (an
    empty field still removes the URL, as the page says)."""
    response = portal.post("/portal/webhooks/url/", body)
    assert response.status_code == 400
    endpoint = WebhookEndpoint.objects.get(pk=sending.pk)
    assert endpoint.url == sending.url
    assert endpoint.enabled is True


def test_an_empty_url_field_still_removes_the_url(portal, sending):
    response = portal.post("/portal/webhooks/url/", {"url": ""})
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get(pk=sending.pk)
    assert endpoint.url == ""
    assert endpoint.enabled is False


def test_a_settings_post_without_the_maximum_keeps_the_maximum(portal, partner):
    """A missing ``max_amount`` read as "" removed the partner's per-request
    maximum (D13 ``amount_exceeds_max``); the page's form always sends it."""
    partner.enabled_currencies = ["EUR"]
    partner.default_currency = "EUR"
    partner.max_fiat_per_request = 50_000
    partner.save()
    body = {
        "enabled_currencies": ["EUR"],
        "default_currency": "EUR",
        "min_amount": "1.00",
        "pos_expiry_seconds": "3600",
        "invoice_expiry_seconds": "604800",
    }
    response = portal.post("/portal/settings/", body)
    assert response.status_code == 400
    partner.refresh_from_db()
    assert partner.max_fiat_per_request == 50_000
    # An empty field is still how the page removes the maximum.
    response = portal.post("/portal/settings/", {**body, "max_amount": ""})
    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.max_fiat_per_request is None


def test_an_invalid_filter_is_shown_where_it_is_and_the_others_still_apply(
    portal, merchant, other_partner
):
    """A merchant id of another partner (or mistyped) beside status "paid":
    every filter was dropped, so the list showed unpaid requests under a
    status field still saying "paid", and nothing said which filter was
    wrong (the field was marked ``aria-invalid``, described by an error the
    page never showed). Now the invalid filter is ignored, says why next to
    itself, and the valid ones apply, as the message says."""
    from payments.models import PaymentRequest
    from tests.factories import MerchantFactory
    from tests.portal.conftest import make_verified

    make_request(merchant, reference="OPEN01")
    make_verified(merchant, reference="PAID01")
    foreign = MerchantFactory(partner=other_partner, test_mode=False)

    response = portal.get(
        "/portal/requests/", {"status": "paid", "merchant": str(foreign.pk)}
    )

    shown = [row["pr"].reference for row in response.context["rows"]]
    assert shown == ["PAID01"]
    assert all(
        row["pr"].status == PaymentRequest.Status.PAID
        for row in response.context["rows"]
    )
    html = response.content.decode()
    assert 'aria-describedby="id_merchant_error"' in html
    assert 'id="id_merchant_error"' in html  # the description exists
    assert any("not valid" in str(m) for m in response.context["messages"])
