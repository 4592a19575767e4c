"""GET / list / pause / resume / cancel of /api/v1/recurring/plans (D29, D35, D10)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import time_machine

from recurring.models import Plan
from tests.factories import MerchantFactory

URL = "/api/v1/recurring/plans"
ACTIONS = ("pause", "resume", "cancel")


def assert_error(response, code, status=400, **extra):
    assert response.status_code == status, response.content
    payload = response.json()
    assert payload["ok"] is False
    assert payload["error"] == code
    for key, value in extra.items():
        assert payload[key] == value


def act(client, plan, action):
    return client.post(f"{URL}/{plan.pk if isinstance(plan, Plan) else plan}/{action}")


# --- detail and isolation (D35: plan_not_found for every kind of bad id) --------------


def test_get_returns_the_plan(api, make_plan):
    plan = make_plan(metadata={"sub": "gold"})
    response = api.get(f"{URL}/{plan.pk}")
    assert response.status_code == 200
    assert response.json()["plan_id"] == str(plan.pk)
    assert response.json()["metadata"] == {"sub": "gold"}


def test_every_plan_route_answers_identical_plan_not_found_for_bad_ids(
    api, partner, other_partner, make_plan
):
    own = make_plan()
    foreign = make_plan(merchant=MerchantFactory(partner=other_partner))
    other_mode = make_plan(merchant=MerchantFactory(partner=partner, test_mode=True))
    bad_ids = [
        "not-a-uuid",
        "123",
        str(uuid.uuid4()),
        foreign.pk,
        other_mode.pk,
        str(own.pk).upper()[:-1] + "z",
    ]
    routes = [("get", "")] + [("post", f"/{a}") for a in ACTIONS]
    for method, suffix in routes:
        answers = [getattr(api, method)(f"{URL}/{bad}{suffix}") for bad in bad_ids]
        assert_error(answers[0], "plan_not_found", status=404)
        assert {a.status_code for a in answers} == {404}
        assert {a.content for a in answers} == {answers[0].content}, (method, suffix)
    # Nothing happened to the foreign and other-mode plans.
    foreign.refresh_from_db()
    other_mode.refresh_from_db()
    assert foreign.status == other_mode.status == "active"


def test_an_upper_case_uuid_finds_the_plan(api, make_plan):
    plan = make_plan()
    assert api.get(f"{URL}/{str(plan.pk).upper()}").status_code == 200


def test_detail_needs_recurring_read_and_actions_recurring_write(
    client_for, partner, make_plan
):
    plan = make_plan()
    writer = client_for(partner, scopes=["recurring:write"])
    assert_error(
        writer.get(f"{URL}/{plan.pk}"),
        "insufficient_scope",
        status=403,
        required_scope="recurring:read",
    )
    assert_error(
        writer.get(URL),
        "insufficient_scope",
        status=403,
        required_scope="recurring:read",
    )
    reader = client_for(partner, scopes=["recurring:read"])
    for action in ACTIONS:
        assert_error(
            act(reader, plan, action),
            "insufficient_scope",
            status=403,
            required_scope="recurring:write",
        )
    plan.refresh_from_db()
    assert plan.status == "active"


def test_wrong_method_is_method_not_allowed(api, make_plan):
    plan = make_plan()
    assert_error(api.delete(f"{URL}/{plan.pk}"), "method_not_allowed", status=405)
    assert_error(api.get(f"{URL}/{plan.pk}/pause"), "method_not_allowed", status=405)


def test_plan_routes_use_their_rate_groups(api, partner, make_plan, frozen_clock):
    plan = make_plan()
    partner.rate_limit_overrides = {"plans.pause": "2/m", "plans.detail": "3/m"}
    partner.save()
    assert act(api, plan, "pause").headers["X-RateLimit-Limit"] == "2"
    act(api, plan, "resume")
    act(api, plan, "pause")
    assert_error(act(api, plan, "pause"), "rate_limited", status=429)
    # spec §7.1: resume and cancel count on their own, not on pause's counter.
    assert act(api, plan, "resume").headers["X-RateLimit-Limit"] == "60"
    assert act(api, plan, "cancel").headers["X-RateLimit-Remaining"] == "59"
    # Another group keeps its own counter.
    assert api.get(f"{URL}/{plan.pk}").headers["X-RateLimit-Limit"] == "3"
    assert api.get(URL).headers["X-RateLimit-Limit"] == "60"


# --- list -----------------------------------------------------------------------------


def test_list_is_newest_first_and_pages_with_a_cursor(api, make_plan):
    plans = [make_plan() for _ in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get(URL, params).json()
        assert page["ok"] is True
        seen += [item["plan_id"] for item in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert seen == [str(p.pk) for p in reversed(plans)]


def test_list_shows_only_the_callers_partner_and_mode(
    api, api_test, partner, other_partner, make_plan
):
    mine = make_plan()
    make_plan(merchant=MerchantFactory(partner=other_partner))
    test_plan = make_plan(merchant=MerchantFactory(partner=partner, test_mode=True))
    assert [p["plan_id"] for p in api.get(URL).json()["data"]] == [str(mine.pk)]
    assert [p["plan_id"] for p in api_test.get(URL).json()["data"]] == [
        str(test_plan.pk)
    ]


def test_list_filters_by_status_and_merchant(api, partner, make_plan):
    second_merchant = MerchantFactory(partner=partner)
    a = make_plan()
    b = make_plan(merchant=second_merchant)
    act(api, b, "pause")

    def ids(**params):
        return [p["plan_id"] for p in api.get(URL, params).json()["data"]]

    assert ids(status="paused") == [str(b.pk)]
    assert ids(status="active") == [str(a.pk)]
    assert ids(merchant_id=str(second_merchant.pk)) == [str(b.pk)]
    assert ids(merchant_id=str(second_merchant.pk), status="active") == []
    assert ids(merchant_id=str(uuid.uuid4())) == []


def test_list_refuses_bad_filters_and_paging(api):
    assert_error(api.get(URL, {"status": "gone"}), "invalid_request", field="status")
    assert_error(api.get(URL, {"merchant_id": "nope"}), "invalid_merchant_id")
    assert_error(api.get(URL, {"limit": 0}), "invalid_request", field="limit")
    assert_error(api.get(URL, {"limit": 101}), "invalid_request", field="limit")
    assert_error(api.get(URL, {"cursor": "!!!"}), "invalid_request", field="cursor")


def test_list_query_count_does_not_grow_with_plans_or_charges(
    api, make_plan, eur_rate, django_assert_max_num_queries
):
    from recurring.services import plans_charge_due

    for _ in range(3):
        make_plan(frequency="daily")
    plans_charge_due()
    with django_assert_max_num_queries(12) as small:
        api.get(URL)
    for _ in range(10):
        make_plan(frequency="daily")
    plans_charge_due()
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = api.get(URL).json()
    assert len(page["data"]) == 13
    assert all(len(item["recent_charges"]) == 1 for item in page["data"])


# --- actions --------------------------------------------------------------------------


def test_pause_then_resume_then_cancel(api, make_plan):
    plan = make_plan()
    paused = act(api, plan, "pause")
    assert paused.status_code == 200
    assert paused.json()["status"] == "paused"
    assert paused.json()["next_charge_at"] is None
    assert paused.json()["paused_at"] is not None

    resumed = act(api, plan, "resume")
    assert resumed.status_code == 200
    assert resumed.json()["status"] == "active"
    assert resumed.json()["paused_at"] is None

    cancelled = act(api, plan, "cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["next_charge_at"] is None
    assert cancelled.json()["cancelled_at"] is not None


def test_pause_only_active_and_resume_only_paused(api, make_plan):
    plan = make_plan()
    assert_error(act(api, plan, "resume"), "can_only_resume_paused_plans")
    act(api, plan, "pause")
    assert_error(act(api, plan, "pause"), "can_only_pause_active_plans")
    plan.refresh_from_db()
    assert plan.status == "paused"


def test_cancel_works_on_a_paused_plan(api, make_plan):
    plan = make_plan()
    act(api, plan, "pause")
    assert act(api, plan, "cancel").json()["status"] == "cancelled"


@pytest.mark.parametrize("terminal", ["cancelled", "completed"])
def test_every_action_on_a_terminated_plan_is_plan_already_terminated(
    api, make_plan, terminal
):
    plan = make_plan()
    Plan.objects.filter(pk=plan.pk).update(status=terminal, next_charge_at=None)
    for action in ACTIONS:  # D35: a second cancel included
        assert_error(act(api, plan, action), "plan_already_terminated")
    plan.refresh_from_db()
    assert plan.status == terminal


def test_second_cancel_is_plan_already_terminated(api, make_plan):
    plan = make_plan()
    assert act(api, plan, "cancel").status_code == 200
    assert_error(act(api, plan, "cancel"), "plan_already_terminated")


def test_resume_skips_the_slots_missed_while_paused(api, merchant):
    with time_machine.travel(datetime(2027, 1, 31, 10, tzinfo=UTC), tick=False):
        created = api.post(
            URL,
            {
                "merchant_id": str(merchant.pk),
                "fiat_amount_int": 2500,
                "frequency": "monthly",
                "customer_wallet": "0x" + "1" * 40,
            },
            format="json",
        ).json()
        act(api, created["plan_id"], "pause")
    with time_machine.travel(datetime(2027, 4, 2, tzinfo=UTC), tick=False):
        resumed = act(api, created["plan_id"], "resume").json()
    # Feb 28 and Mar 31 passed while paused; the next slot is Apr 30 (D29).
    assert resumed["next_charge_at"] == "2027-04-30T10:00:00.000Z"
    assert resumed["consecutive_failures"] == 0
