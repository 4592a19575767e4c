"""The webhook endpoint's refusals say which fix applies (D35, D24).

``webhook_not_configured`` read "No webhook URL is configured." also when a
URL was configured and delivery was only switched off (by the partner, a 410
or five days of failures), and a test key's change of the endpoint answered
that the key "lacks the scope" although an unrestricted test key has every
scope: adding one could never help. The codes and statuses are unchanged.
"""

from __future__ import annotations

import pytest

from webhooks.services.endpoints import webhook_endpoint_set

from ..conftest import emit

ENDPOINT = "/api/v1/webhooks/endpoint"


@pytest.fixture(autouse=True)
def _receiver(receiver):
    return receiver


def test_a_test_key_changing_the_endpoint_is_told_a_live_key_is_needed(api_test):
    answer = api_test.put(ENDPOINT, {"enabled": False}, format="json")
    body = answer.json()
    assert answer.status_code == 403
    assert body["error"] == "insufficient_scope"
    assert body["required_scope"] == "webhooks:write"
    assert "live key" in body["message"]


def _switched_off(partner, receiver):
    webhook_endpoint_set(partner=partner, url=receiver.url(), enabled=True)
    webhook_endpoint_set(partner=partner, enabled=False)


def test_a_test_send_while_delivery_is_off_says_it_is_off(api, partner, receiver):
    _switched_off(partner, receiver)
    answer = api.post("/api/v1/webhooks/test")
    body = answer.json()
    assert answer.status_code == 400
    assert body["error"] == "webhook_not_configured"
    assert "switched off" in body["message"]
    assert "No webhook URL" not in body["message"]


def test_a_resend_while_delivery_is_off_says_it_is_off(api, partner, receiver):
    webhook_endpoint_set(partner=partner, url=receiver.url(), enabled=True)
    event = emit(partner)
    webhook_endpoint_set(partner=partner, enabled=False)
    answer = api.post(f"/api/v1/events/{event.pk}/resend")
    body = answer.json()
    assert answer.status_code == 400
    assert body["error"] == "webhook_not_configured"
    assert "switched off" in body["message"]


def test_without_a_url_the_message_still_asks_for_one(api):
    body = api.post("/api/v1/webhooks/test").json()
    assert body["error"] == "webhook_not_configured"
    assert "No webhook URL" in body["message"]
