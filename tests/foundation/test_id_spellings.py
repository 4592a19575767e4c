"""Ids are read in one spelling only (D1, D35): 8-4-4-4-12 hex, either case.

``uuid.UUID`` also reads ``{…}``, ``urn:uuid:…``, ``uuid:…``, 32 bare hex
digits and hyphens anywhere; every route, body and query id refused them
with the route's own code only after ``jopay_project.formats.parse_uuid_text``
became the one parser. Upper-case hex names the same id (RFC 9562 §4: "case
insensitive on input"); D1 is about how ids are written, not read.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from payments.models import FxRate
from recurring.services import plan_create
from tests.factories import MerchantFactory, PartnerUserFactory, UserFactory
from tests.portal.conftest import logged_in, make_verified
from webhooks.services import event_emit

CUSTOMER = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"


def loose(value) -> list[str]:
    """Every spelling ``uuid.UUID`` reads as ``value`` but D1 does not."""
    text = str(value)
    bare = text.replace("-", "")
    return [
        "{" + text + "}",
        "urn:uuid:" + text,
        "uuid:" + text,
        bare,
        bare.upper(),
        f"{bare[:7]}-{bare[7:]}",
        "-" + text,
        text + "-",
    ]


@pytest.fixture
def alice_user(partner):
    user = UserFactory(username="alice@example.com", email="alice@example.com")
    return PartnerUserFactory(user=user, partner=partner)


@pytest.fixture
def world(partner, merchant):
    FxRate.objects.create(
        currency="EUR", rate=Decimal("0.92"), source="manual", pinned=True
    )
    plan = plan_create(
        partner=partner,
        test_mode=False,
        merchant=merchant,
        fiat_amount_int=2500,
        frequency="monthly",
        customer_wallet=CUSTOMER,
    )
    request = make_verified(merchant)
    event = event_emit(
        partner=partner,
        test_mode=False,
        type="payment.proof_verified",
        data={},
        request_id=request.pk,
    )
    return {"plan": plan, "request": request, "event": event, "merchant": merchant}


def error(response) -> tuple[int, str]:
    return response.status_code, response.json().get("error")


def test_api_path_ids_refuse_every_other_spelling(api, world):
    request, merchant = world["request"], world["merchant"]
    plan, event = world["plan"], world["event"]
    for bad in loose(request.pk):
        assert error(api.get(f"/api/v1/requests/{bad}")) == (400, "invalid_request_id")
        assert error(api.post(f"/api/v1/requests/{bad}/cancel")) == (
            400,
            "invalid_request_id",
        )
        assert error(api.post(f"/api/v1/requests/{bad}/reverify")) == (
            400,
            "invalid_request_id",
        )
    for bad in loose(merchant.pk):
        assert error(api.get(f"/api/v1/merchants/{bad}")) == (
            400,
            "invalid_merchant_id",
        )
        answer = api.patch(
            f"/api/v1/merchants/{bad}", {"display_name": "X"}, format="json"
        )
        assert error(answer) == (400, "invalid_merchant_id")
    missing_plan = api.get("/api/v1/recurring/plans/not-a-uuid")
    for bad in loose(plan.pk):
        answer = api.get(f"/api/v1/recurring/plans/{bad}")
        assert (answer.status_code, answer.content) == (404, missing_plan.content)
        for action in ("pause", "resume", "cancel"):
            answer = api.post(f"/api/v1/recurring/plans/{bad}/{action}")
            assert (answer.status_code, answer.content) == (404, missing_plan.content)
    for bad in loose(event.pk):
        answer = api.post(f"/api/v1/events/{bad}/resend", {}, format="json")
        assert error(answer) == (404, "not_found")
    plan.refresh_from_db()
    assert plan.status == "active"


def test_api_body_and_query_ids_refuse_every_other_spelling(api, world):
    request, merchant = world["request"], world["merchant"]
    for bad in loose(merchant.pk):
        created = api.post(
            "/api/v1/requests/create",
            {"merchant_id": bad, "fiat_amount_int": 2500},
            format="json",
        )
        assert error(created) == (400, "invalid_merchant_id")
        plan = api.post(
            "/api/v1/recurring/plans",
            {
                "merchant_id": bad,
                "fiat_amount_int": 2500,
                "frequency": "monthly",
                "customer_wallet": CUSTOMER,
            },
            format="json",
        )
        assert error(plan) == (400, "invalid_merchant_id")
        listed = api.get("/api/v1/requests", {"merchant_id": bad})
        assert error(listed) == (400, "invalid_merchant_id")
        listed = api.get("/api/v1/recurring/plans", {"merchant_id": bad})
        assert error(listed) == (400, "invalid_merchant_id")
    for bad in loose(request.pk):
        listed = api.get("/api/v1/events", {"request_id": bad})
        assert error(listed) == (400, "invalid_request_id")


def test_upper_case_hex_is_the_same_id(api, world):
    request, merchant = world["request"], world["merchant"]
    plan, event = world["plan"], world["event"]
    upper = str(request.pk).upper()
    assert api.get(f"/api/v1/requests/{upper}").json()["request_id"] == str(request.pk)
    got = api.get(f"/api/v1/merchants/{str(merchant.pk).upper()}").json()
    assert got["merchant_id"] == str(merchant.pk)
    got = api.get(f"/api/v1/recurring/plans/{str(plan.pk).upper()}").json()
    assert got["plan_id"] == str(plan.pk)
    listed = api.get("/api/v1/events", {"request_id": upper}).json()["data"]
    assert [e["event_id"] for e in listed] == [str(event.pk)]
    listed = api.get("/api/v1/requests", {"merchant_id": str(merchant.pk).upper()})
    assert [r["request_id"] for r in listed.json()["data"]] == [str(request.pk)]
    assert api.get(f"/pay/{upper}/receipt").status_code == 200
    assert api.get(f"/pay/{upper}/status").json()["status"] == "paid"


def test_pay_page_routes_refuse_every_other_spelling(client, world):
    request = world["request"]
    for bad in loose(request.pk):
        assert client.get(f"/pay/{bad}").status_code == 404
        assert client.get(f"/pay/{bad}/receipt").status_code == 404
        assert error(client.get(f"/pay/{bad}/status")) == (404, "not_found")
        answer = client.post(
            f"/pay/{bad}/proof",
            {"tx_hash": "0x" + "ab" * 32, "chain_id": 1},
            content_type="application/json",
        )
        assert error(answer) == (404, "not_found")
    request.refresh_from_db()
    assert request.status == "paid"  # never "opened" by a page view of a loose id


def test_portal_detail_routes_refuse_every_other_spelling(alice_user, world):
    portal = logged_in(alice_user)
    request, merchant, plan = world["request"], world["merchant"], world["plan"]
    assert portal.get(f"/portal/requests/{request.pk}/").status_code == 200
    for kind, row in (("requests", request), ("merchants", merchant), ("plans", plan)):
        for bad in loose(row.pk):
            assert portal.get(f"/portal/{kind}/{bad}/").status_code == 404, (kind, bad)


def test_portal_request_filter_by_merchant_id_refuses_other_spellings(
    alice_user, partner, monkeypatch
):
    # Past the choice list's size the filter takes a typed merchant id; one
    # it refuses is ignored, with a message.
    monkeypatch.setattr("payments.portal.views.MERCHANT_CHOICES", 1)
    merchants = MerchantFactory.create_batch(2, partner=partner, test_mode=False)
    portal = logged_in(alice_user)
    found = portal.get("/portal/requests/", {"merchant": str(merchants[0].pk)})
    assert "were not valid" not in found.content.decode()
    for bad in loose(merchants[0].pk):
        answer = portal.get("/portal/requests/", {"merchant": bad})
        assert "were not valid" in answer.content.decode(), bad
