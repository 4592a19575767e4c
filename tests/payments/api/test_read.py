"""GET /api/v1/requests/<id> and GET /api/v1/requests (D10, D18, D34)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from payments.models import PaymentRequest
from tests.factories import MerchantFactory

pytestmark = pytest.mark.usefixtures("rates")


@pytest.fixture
def bob(client_for, other_partner):
    return client_for(other_partner)


def make(client, create, merchant=None, **fields):
    response = create(client, merchant, **fields)
    assert response.status_code == 201, response.json()
    return response.json()


# --- detail ---------------------------------------------------------------------


def test_get_returns_the_same_shape_as_create(api, create):
    created = make(api, create, metadata={"a": "b"})
    response = api.get(f"/api/v1/requests/{created['request_id']}")
    assert response.status_code == 200
    assert response.json() == created


@pytest.mark.parametrize("bad", ["nope", "123", "0" * 36, "g" * 32])
def test_malformed_id_is_invalid_request_id(api, bad):
    response = api.get(f"/api/v1/requests/{bad}")
    assert (response.status_code, response.json()["error"]) == (
        400,
        "invalid_request_id",
    )


def test_foreign_and_other_mode_ids_are_byte_identical_to_missing(
    api, api_test, bob, create, test_merchant, client_for, other_partner
):
    mine = make(api, create)["request_id"]
    missing = api.get(f"/api/v1/requests/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    for stranger in (bob, api_test):
        answer = stranger.get(f"/api/v1/requests/{mine}")
        assert answer.status_code == 404
        assert answer.content == missing.content  # D10
    # And the other way round: alice's test request is invisible to her live key.
    test_id = make(api_test, create, test_merchant)["request_id"]
    assert api.get(f"/api/v1/requests/{test_id}").content == missing.content


def test_get_needs_requests_read_scope(client_for, partner, api, create):
    rid = make(api, create)["request_id"]
    writer = client_for(partner, scopes=["requests:write"])  # write ≠ read (D7)
    response = writer.get(f"/api/v1/requests/{rid}")
    assert (response.status_code, response.json()["error"]) == (
        403,
        "insufficient_scope",
    )


# --- list ------------------------------------------------------------------------


def test_list_is_newest_first_with_keyset_paging(api, create):
    ids = [make(api, create, fiat_amount_int=2500 + i)["request_id"] for i in range(5)]
    first = api.get("/api/v1/requests", {"limit": 2}).json()
    assert first["ok"] is True
    assert [r["request_id"] for r in first["data"]] == ids[::-1][:2]
    assert first["has_more"] is True
    second = api.get(
        "/api/v1/requests", {"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    third = api.get(
        "/api/v1/requests", {"limit": 2, "cursor": second["next_cursor"]}
    ).json()
    seen = [r["request_id"] for page in (first, second, third) for r in page["data"]]
    assert seen == ids[::-1]
    assert third["has_more"] is False
    assert third["next_cursor"] is None


def test_list_items_have_the_d18_shape(api, create):
    created = make(api, create)
    created.pop("ok")  # the envelope's, not the item's
    assert api.get("/api/v1/requests").json()["data"] == [created]


def test_list_never_shows_other_partners_or_the_other_mode(
    api, api_test, bob, create, test_merchant, other_partner
):
    mine = make(api, create)["request_id"]
    make(api_test, create, test_merchant)
    make(bob, create, MerchantFactory(partner=other_partner))
    assert [r["request_id"] for r in api.get("/api/v1/requests").json()["data"]] == [
        mine
    ]
    test_items = api_test.get("/api/v1/requests").json()["data"]
    assert [r["test_mode"] for r in test_items] == [True]


def test_list_filters(api, create, partner):
    other_merchant = MerchantFactory(partner=partner)
    a = make(api, create)["request_id"]
    b = make(api, create, other_merchant)["request_id"]
    api.post(f"/api/v1/requests/{b}/cancel")

    def ids(**params):
        response = api.get("/api/v1/requests", params)
        assert response.status_code == 200, response.json()
        return {r["request_id"] for r in response.json()["data"]}

    assert ids(merchant_id=str(other_merchant.pk)) == {b}
    assert ids(status="cancelled") == {b}
    assert ids(status="requested") == {a}
    assert ids(proof_status="none") == {a, b}
    assert ids(proof_status="verified") == set()
    assert ids(merchant_id=str(uuid.uuid4())) == set()


def test_created_after_is_inclusive_and_created_before_exclusive(api, create):
    rid = make(api, create)["request_id"]
    t = PaymentRequest.objects.get(pk=rid).created_at

    def ids(**params):
        return [
            r["request_id"] for r in api.get("/api/v1/requests", params).json()["data"]
        ]

    stamp = t.isoformat()
    assert ids(created_after=stamp) == [rid]
    assert ids(created_before=stamp) == []
    later = (t + timedelta(microseconds=1)).isoformat()
    assert ids(created_before=later) == [rid]
    assert ids(created_after=later) == []
    # The D1 wire form with Z is accepted too.
    day = (t - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert ids(created_after=day) == [rid]


def test_time_filters_finer_than_a_microsecond_select_exactly(api, create):
    """Stored times are whole microseconds: a bound between two of them is the
    later one. Truncated, created_before=t+0.4 µs left out the row at t (which
    is before it) and created_after=t+0.4 µs kept it (which is not after it)."""
    rid = make(api, create)["request_id"]
    t = PaymentRequest.objects.get(pk=rid).created_at

    def ids(**params):
        return [
            r["request_id"] for r in api.get("/api/v1/requests", params).json()["data"]
        ]

    finer = t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "4Z"  # t + 0.4 µs
    assert ids(created_before=finer) == [rid]
    assert ids(created_after=finer) == []
    exact = t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"  # t itself, 9 digits
    assert ids(created_after=exact) == [rid]
    assert ids(created_before=exact) == []


def test_time_filters_take_a_leap_second_and_the_end_of_day(api, create):
    """ISO 8601 forms the docs promise (index.md): 23:59:60 and T24:00 were
    invalid_request; each is the next second's / day's start, as PostgreSQL
    reads them."""
    rid = make(api, create)["request_id"]
    t = PaymentRequest.objects.get(pk=rid).created_at
    yesterday = (t - timedelta(days=1)).strftime("%Y-%m-%d")
    today = t.strftime("%Y-%m-%d")
    for after in (f"{yesterday}T23:59:60Z", f"{yesterday}T24:00:00Z"):
        response = api.get("/api/v1/requests", {"created_after": after})
        assert response.status_code == 200, response.json()
        assert [r["request_id"] for r in response.json()["data"]] == [rid]
    response = api.get("/api/v1/requests", {"created_before": f"{today}T24:00Z"})
    assert [r["request_id"] for r in response.json()["data"]] == [rid]


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-05:00",  # after 9999-12-31 in UTC
        "9999-12-31T24:00:00Z",
        "0001-01-01T00:00:00+01:00",  # before 0001-01-01 in UTC
        "2026-04-17T23:59:61Z",
        "2026-04-17T24:00:01Z",
        "2026-340",
    ],
)
@pytest.mark.parametrize("param", ["created_after", "created_before"])
def test_time_filters_refuse_what_no_utc_time_holds(api, param, value):
    response = api.get("/api/v1/requests", {param: value})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["field"] == param


@pytest.mark.parametrize(
    ("param", "value", "code", "field"),
    [
        ("merchant_id", "nope", "invalid_merchant_id", None),
        ("status", "paid-ish", "invalid_request", "status"),
        ("proof_status", "done", "invalid_request", "proof_status"),
        ("created_after", "yesterday", "invalid_request", "created_after"),
        ("created_before", "2026-13-01", "invalid_request", "created_before"),
        ("limit", "0", "invalid_request", "limit"),
        ("limit", "101", "invalid_request", "limit"),
        ("limit", "ten", "invalid_request", "limit"),
        # An integer in ASCII digits, nothing else that int() would take.
        ("limit", " 5", "invalid_request", "limit"),
        ("limit", "5_0", "invalid_request", "limit"),
        ("limit", "\uff15", "invalid_request", "limit"),  # fullwidth 5
        ("limit", "+5", "invalid_request", "limit"),
        ("limit", "9" * 5000, "invalid_request", "limit"),
        ("cursor", "%%%", "invalid_request", "cursor"),
        ("cursor", "eyJhIjoxfQ", "invalid_request", "cursor"),
    ],
)
def test_bad_list_parameters(api, param, value, code, field):
    response = api.get("/api/v1/requests", {param: value})
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert response.json().get("field") == field


def test_list_limit_bounds_are_inclusive(api, create):
    # Two rows: limit=1 must cut the page (an ignored limit answered 200 too).
    make(api, create)
    make(api, create, fiat_amount_int=2600)
    one = api.get("/api/v1/requests", {"limit": 1})
    assert one.status_code == 200, one.content
    assert (len(one.json()["data"]), one.json()["has_more"]) == (1, True)
    hundred = api.get("/api/v1/requests", {"limit": 100})
    assert hundred.status_code == 200, hundred.content
    assert (len(hundred.json()["data"]), hundred.json()["has_more"]) == (2, False)


def test_list_default_limit_is_50(api, merchant):
    now = timezone.now()
    PaymentRequest.objects.bulk_create(
        PaymentRequest(
            partner=merchant.partner,
            merchant=merchant,
            reference=f"R{i:05d}",
            fiat_int=100,
            fiat_code="EUR",
            usdc_micro=1000 + i,
            fx_rate=1,
            fx_source="seed",
            receiving_address=merchant.wallet_address,
            expires_at=now,
            created_at=now - timedelta(seconds=i),
        )
        for i in range(51)
    )
    page = api.get("/api/v1/requests").json()
    assert len(page["data"]) == 50
    assert page["has_more"] is True
