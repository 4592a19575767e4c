"""Spec §10.3: 20 recurring-plan operations an hour per merchant, over the API
and in the portal together, on top of the per-key limits (D27)."""

from __future__ import annotations

import pytest
from django.test import Client

from recurring.models import Plan
from tests.factories import MerchantFactory, PartnerUserFactory, UserFactory
from tests.recurring.api.test_create import URL, body

pytestmark = pytest.mark.django_db


def act(client, plan_id, action):
    return client.post(f"{URL}/{plan_id}/{action}")


def test_the_21st_operation_on_a_merchants_plans_in_an_hour_is_rate_limited(
    api, merchant, partner, eur_rate, frozen_clock
):
    created = api.post(URL, body(merchant), format="json")
    assert created.status_code == 201
    plan_id = created.json()["plan_id"]
    for n in range(19):  # the create was the first of 20
        answer = act(api, plan_id, "pause" if n % 2 == 0 else "resume")
        assert answer.status_code == 200, n
    refused = act(api, plan_id, "resume")
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert Plan.objects.get(pk=plan_id).status == "paused"  # nothing done
    assert api.post(URL, body(merchant), format="json").status_code == 429
    # Reading is not an operation, and another merchant has its own budget.
    assert api.get(f"{URL}/{plan_id}").status_code == 200
    other = MerchantFactory(partner=partner)
    assert api.post(URL, body(other), format="json").status_code == 201


def test_a_429_of_the_merchant_budget_describes_that_budget_in_its_headers(
    api, merchant, partner, eur_rate, frozen_clock
):
    """D27/D34: the X-RateLimit-* headers of a 429 name the window that refused
    it, not the per-key one with calls to spare (Remaining 58, Reset 7 beside a
    Retry-After of 290 sent clients back into the refusal)."""
    partner.rate_limit_overrides = {"plans.merchant": "2/h"}
    partner.save()
    plan_id = api.post(URL, body(merchant), format="json").json()["plan_id"]
    assert act(api, plan_id, "pause").status_code == 200
    refused = act(api, plan_id, "resume")
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert refused["X-RateLimit-Limit"] == "2"
    assert refused["X-RateLimit-Remaining"] == "0"
    assert refused["X-RateLimit-Reset"] == refused["Retry-After"]
    assert refused.json()["retry_after"] == int(refused["Retry-After"])
    # An answer the merchant budget let through still shows the key's window.
    assert api.get(f"{URL}/{plan_id}")["X-RateLimit-Limit"] == "60"


def test_a_refused_create_body_is_not_counted_and_a_replay_is_free(
    api, merchant, eur_rate, frozen_clock
):
    for _ in range(25):
        bad = api.post(URL, body(merchant, frequency="hourly"), format="json")
        assert bad.json()["error"] == "invalid_frequency"
    keyed = body(merchant, idempotency_key="k" * 40)
    assert api.post(URL, keyed, format="json").status_code == 201
    for _ in range(25):
        assert api.post(URL, keyed, format="json").status_code == 200  # replays


def test_the_portal_shares_the_merchants_budget(
    api, merchant, partner, eur_rate, frozen_clock
):
    alice = UserFactory(username="alice@example.com", email="alice@example.com")
    PartnerUserFactory(user=alice, partner=partner)
    partner.rate_limit_overrides = {"plans.merchant": "2/h"}
    partner.save()
    plan_id = api.post(URL, body(merchant), format="json").json()["plan_id"]
    portal = Client()
    portal.force_login(alice)
    portal.post(f"/portal/plans/{plan_id}/pause/")
    assert Plan.objects.get(pk=plan_id).status == "paused"
    answer = portal.post(f"/portal/plans/{plan_id}/resume/", follow=True)
    tags = [m.extra_tags for m in answer.context["messages"] if m.extra_tags]
    assert tags == ["rate_limited"]
    assert Plan.objects.get(pk=plan_id).status == "paused"
