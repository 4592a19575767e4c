"""GET /api/v1/merchants and /merchants/:id (spec §5.2-5.3; D2, D10, D34, D35)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from merchants.models import Merchant
from tests.factories import MerchantFactory
from tests.merchants.api.helpers import refusal
from tests.merchants.conftest import URL, detail_url

# --- detail ---------------------------------------------------------------------------


def test_get_returns_the_merchant_shape(api, merchant):
    response = api.get(detail_url(merchant.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["merchant_id"] == str(merchant.pk)
    assert body["business_name"] == merchant.business_name
    assert body["onboarding_status"] == "complete"
    assert body["onboarding_url"] is None
    assert body["created_at"].endswith("Z")
    assert body["withdraw_address"] is None  # "" renders as null


@pytest.mark.parametrize("bad_id", ["nope", "123", "0" * 32 + "g", "%20"])
def test_malformed_id_is_invalid_merchant_id(api, bad_id):
    body = refusal(api.get(f"{URL}/{bad_id}"), 400)
    assert body["error"] == "invalid_merchant_id"


def test_foreign_and_other_mode_merchants_are_byte_identical_to_missing(
    api, merchant, client_for, other_partner, api_test
):
    missing = api.get(detail_url(uuid.uuid4()))
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    bob = client_for(other_partner)
    for client in (bob, api_test):
        for call in (
            client.get(detail_url(merchant.pk)),
            client.patch(detail_url(merchant.pk), {"display_name": "x"}, format="json"),
        ):
            assert call.status_code == 404
            assert call.content == missing.content
    merchant.refresh_from_db()
    assert merchant.display_name != "x"


def test_detail_needs_merchants_read(client_for, partner, merchant):
    writer = client_for(partner, scopes=["merchants:write"])
    body = refusal(writer.get(detail_url(merchant.pk)), 403)
    assert (body["error"], body["required_scope"]) == (
        "insufficient_scope",
        "merchants:read",
    )


def test_unsupported_method_is_method_not_allowed(api, merchant):
    assert (
        refusal(api.delete(detail_url(merchant.pk)), 405)["error"]
        == "method_not_allowed"
    )
    assert (
        refusal(api.put(URL, {}, format="json"), 405)["error"] == "method_not_allowed"
    )


# --- onboarding link on read (D35) ----------------------------------------------------


def _shell(api):
    response = api.post(URL, {"display_name": "Shell"}, format="json")
    assert response.status_code == 201
    return response.json()


def test_reading_a_valid_link_shows_the_same_link(api):
    created = _shell(api)
    again = api.get(detail_url(created["merchant_id"])).json()
    assert again["onboarding_url"] == created["onboarding_url"]
    assert again["onboarding_url_expires_at"] == created["onboarding_url_expires_at"]


def test_reading_after_expiry_issues_a_fresh_link(api, client):
    created = _shell(api)
    Merchant.objects.filter(pk=created["merchant_id"]).update(
        onboarding_token_expires_at=timezone.now() - timedelta(seconds=1)
    )
    old_path = created["onboarding_url"].removeprefix("http://testserver")
    assert client.get(old_path).status_code == 404
    fresh = api.get(detail_url(created["merchant_id"])).json()
    assert fresh["onboarding_url"] != created["onboarding_url"]
    assert fresh["onboarding_url"].startswith("http://testserver/onboard/")
    assert fresh["onboarding_url_expires_at"] > created["onboarding_url_expires_at"]
    assert (
        client.get(
            fresh["onboarding_url"].removeprefix("http://testserver")
        ).status_code
        == 200
    )
    # ... and it is stable on the next read.
    assert (
        api.get(detail_url(created["merchant_id"])).json()["onboarding_url"]
        == fresh["onboarding_url"]
    )


def test_reading_after_the_link_was_burnt_issues_a_fresh_link(api):
    created = _shell(api)
    Merchant.objects.filter(pk=created["merchant_id"]).update(
        onboarding_token_hash="", onboarding_token_expires_at=None
    )
    fresh = api.get(detail_url(created["merchant_id"])).json()
    assert fresh["onboarding_url"] not in (None, created["onboarding_url"])


def test_a_rotated_secret_key_issues_a_fresh_link(api, settings):
    created = _shell(api)
    settings.SECRET_KEY = "another-secret-key-" + "r" * 40
    fresh = api.get(detail_url(created["merchant_id"])).json()
    assert fresh["onboarding_url"] not in (None, created["onboarding_url"])


# --- list -----------------------------------------------------------------------------


def test_list_is_newest_first_and_only_the_tenants(api, partner, other_partner):
    now = timezone.now()
    mine = [
        MerchantFactory(partner=partner, created_at=now - timedelta(minutes=i))
        for i in range(3)
    ]
    MerchantFactory(partner=partner, test_mode=True)
    MerchantFactory(partner=other_partner)
    response = api.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"ok", "data", "has_more", "next_cursor"}
    assert [m["merchant_id"] for m in body["data"]] == [str(m.pk) for m in mine]
    assert (body["has_more"], body["next_cursor"]) == (False, None)


def test_keyset_pagination_walks_120_rows_with_tied_timestamps_exactly_once(
    api, partner
):
    base = timezone.now().replace(microsecond=0)
    # 40 distinct instants, 3 merchants each: ties must be broken by id.
    rows = [
        MerchantFactory(partner=partner, created_at=base - timedelta(seconds=i // 3))
        for i in range(120)
    ]
    expected = [
        str(m.pk)
        for m in sorted(rows, key=lambda m: (m.created_at, m.pk), reverse=True)
    ]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        body = api.get(URL, params).json()
        pages += 1
        assert len(body["data"]) <= 7
        seen += [m["merchant_id"] for m in body["data"]]
        if not body["has_more"]:
            assert body["next_cursor"] is None
            break
        cursor = body["next_cursor"]
        assert len(body["data"]) == 7
    assert seen == expected
    assert pages == 18  # ceil(120 / 7)


def test_list_filters(api, partner):
    done = MerchantFactory(partner=partner)
    off = MerchantFactory(partner=partner, disabled=True)
    shell = MerchantFactory(
        partner=partner,
        wallet_address="",
        onboarding_status=Merchant.OnboardingStatus.INCOMPLETE,
    )

    def ids(**params):
        return {m["merchant_id"] for m in api.get(URL, params).json()["data"]}

    assert ids(onboarding_status="incomplete") == {str(shell.pk)}
    assert ids(onboarding_status="complete") == {str(done.pk), str(off.pk)}
    assert ids(disabled="true") == {str(off.pk)}
    assert ids(disabled="false") == {str(done.pk), str(shell.pk)}
    assert ids(disabled="false", onboarding_status="complete") == {str(done.pk)}


def test_list_items_of_incomplete_merchants_carry_a_working_link(api, partner, client):
    MerchantFactory(
        partner=partner,
        wallet_address="",
        onboarding_status=Merchant.OnboardingStatus.INCOMPLETE,
    )
    item = api.get(URL).json()["data"][0]
    assert item["onboarding_url"].startswith("http://testserver/onboard/")
    assert (
        client.get(item["onboarding_url"].removeprefix("http://testserver")).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": -1}, "limit"),
        ({"cursor": "%%%"}, "cursor"),
        ({"cursor": "bm9wZQ"}, "cursor"),
        ({"onboarding_status": "done"}, "onboarding_status"),
        ({"disabled": "yes"}, "disabled"),
        ({"disabled": "1"}, "disabled"),
    ],
)
def test_bad_list_parameters_are_invalid_request_with_field(api, params, field):
    body = refusal(api.get(URL, params), 400)
    assert (body["error"], body["field"]) == ("invalid_request", field)


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_bounds_are_inclusive(api, partner, limit):
    MerchantFactory.create_batch(2, partner=partner)
    body = api.get(URL, {"limit": limit}).json()
    assert len(body["data"]) == min(limit, 2)


def test_list_needs_merchants_read(client_for, partner):
    writer = client_for(partner, scopes=["merchants:write"])
    body = refusal(writer.get(URL), 403)
    assert (body["error"], body["required_scope"]) == (
        "insufficient_scope",
        "merchants:read",
    )
    assert client_for(partner, scopes=["merchants:read"]).get(URL).status_code == 200


def test_deep_pages_are_an_index_range_not_a_scan_of_newer_rows(api, partner):
    """D18: a page's cost must not grow with its depth. The cursor bound has to be
    part of the index condition, not a filter over every newer row."""
    MerchantFactory.create_batch(5, partner=partner)
    cursor = api.get(URL, {"limit": 2}).json()["next_cursor"]
    with CaptureQueriesContext(connection) as ctx:
        assert api.get(URL, {"limit": 2, "cursor": cursor}).status_code == 200
    sql = next(
        q["sql"]
        for q in ctx.captured_queries
        if 'FROM "merchants_merchant"' in q["sql"] and "ORDER BY" in q["sql"]
    )
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cur.fetchall())
    index_conds = [line for line in plan.splitlines() if "Index Cond" in line]
    assert any("created_at <=" in line for line in index_conds), plan


def test_an_empty_list_filter_is_no_filter(api, partner):
    # As on the request and event lists: ?disabled= answered invalid_request.
    MerchantFactory(partner=partner)
    MerchantFactory(partner=partner, disabled=True)
    answer = api.get(URL, {"disabled": "", "onboarding_status": ""})
    assert answer.status_code == 200
    assert len(answer.json()["data"]) == 2
