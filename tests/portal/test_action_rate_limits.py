"""The portal's buttons count in their API group's D27 limit, per partner.

Re-verify reads the chain in the web worker (up to 10 s), resend and send
queue work, a URL save may wait 5 s on DNS: without a limit the portal was a
way around the API's, and a script posting a button held web workers. On the
limit the action is not run and the page shows ``rate_limited``.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from payments.portal import views as payment_views
from webhooks.portal import views as webhook_views
from webhooks.services import webhook_endpoint_set, webhook_test_send

from .conftest import make_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

URL = "https://127.0.0.1:9443/jopay/hooks"


def codes(response) -> list[str]:
    return [m.extra_tags for m in response.context["messages"] if m.extra_tags]


def _counting(monkeypatch, module, name: str) -> list:
    calls: list = []

    def service(**kwargs):
        calls.append(kwargs)
        return SimpleNamespace(proof_status="none")  # what re-verify's message reads

    monkeypatch.setattr(module, name, service)
    return calls


def _routes(partner, merchant, monkeypatch):
    """Each action's path and the calls of the service its view runs."""
    pr = make_request(merchant)
    webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    delivery = webhook_test_send(partner=partner)
    return {
        "reverify": (
            f"/portal/requests/{pr.pk}/reverify/",
            _counting(monkeypatch, payment_views, "proof_reverify"),
        ),
        "cancel": (
            f"/portal/requests/{pr.pk}/cancel/",
            _counting(monkeypatch, payment_views, "payment_request_cancel"),
        ),
        "resend": (
            f"/portal/webhooks/deliveries/{delivery.pk}/resend/",
            _counting(monkeypatch, webhook_views, "webhook_delivery_resend"),
        ),
        "send": (
            f"/portal/webhooks/events/{delivery.event_id}/send/",
            _counting(monkeypatch, webhook_views, "event_resend"),
        ),
        "url": (
            "/portal/webhooks/url/",
            _counting(monkeypatch, webhook_views, "webhook_endpoint_set"),
        ),
    }


@pytest.mark.parametrize("action", ["reverify", "cancel", "resend", "send", "url"])
def test_the_61st_press_in_a_minute_is_refused_and_runs_nothing(
    portal, partner, merchant, monkeypatch, action
):
    path, calls = _routes(partner, merchant, monkeypatch)[action]
    data = {"url": URL} if action == "url" else {}
    for _ in range(60):
        portal.post(path, data)
    assert len(calls) == 60
    response = portal.post(path, data, follow=True)
    assert codes(response) == ["rate_limited"]
    assert len(calls) == 60


def test_the_count_is_per_partner(portal, bob_portal, partner, other_partner):
    for _ in range(60):
        portal.post("/portal/webhooks/url/", {"url": URL})
    refused = portal.post("/portal/webhooks/url/", {"url": URL}, follow=True)
    assert codes(refused) == ["rate_limited"]
    saved = bob_portal.post("/portal/webhooks/url/", {"url": URL}, follow=True)
    assert codes(saved) == []
    assert other_partner.webhook_endpoint.url == URL


def test_a_partners_own_api_limit_holds_for_its_buttons(portal, partner):
    partner.rate_limit_overrides = {"webhooks.endpoint_update": "3/m"}
    partner.save(update_fields=["rate_limit_overrides"])
    for _ in range(3):
        assert (
            codes(portal.post("/portal/webhooks/url/", {"url": URL}, follow=True)) == []
        )
    refused = portal.post("/portal/webhooks/url/", {"url": URL}, follow=True)
    assert codes(refused) == ["rate_limited"]


def test_the_31st_proof_in_an_hour_for_a_merchant_is_refused(
    portal, partner, merchant, monkeypatch
):
    """Spec §13.3: merchants' proof submissions are limited to 30 an hour per
    merchant; the portal's attach form had no limit at all."""
    calls = _counting(monkeypatch, payment_views, "proof_attach")
    first, second = make_request(merchant), make_request(merchant)
    for n in range(30):
        pr = first if n % 2 else second  # per merchant, not per request
        portal.post(f"/portal/requests/{pr.pk}/attach/", {"tx_hash": "0x" + "ab" * 32})
    assert len(calls) == 30
    response = portal.post(
        f"/portal/requests/{first.pk}/attach/",
        {"tx_hash": "0x" + "ab" * 32},
        follow=True,
    )
    assert codes(response) == ["rate_limited"]
    assert len(calls) == 30
