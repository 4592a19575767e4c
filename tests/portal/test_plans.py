"""``/portal/plans/``: list, detail with charge history, pause/resume/cancel through
the recurring services (D29, D35)."""

from __future__ import annotations

import pytest

from jopay_project.errors import ErrorCode
from recurring.models import Charge, Plan
from recurring.services import plan_create
from tests.factories import WALLET
from tests.portal.conftest import make_request

pytestmark = pytest.mark.django_db


def codes(response) -> list[str]:
    return [m.extra_tags for m in response.context["messages"] if m.extra_tags]


def new_plan(merchant, **kwargs) -> Plan:
    values = {
        "partner": merchant.partner,
        "test_mode": merchant.test_mode,
        "merchant": merchant,
        "fiat_amount_int": 1500,
        "frequency": "monthly",
        "customer_wallet": WALLET,
    }
    values.update(kwargs)
    return plan_create(**values)


def test_list_and_status_filter(portal, portal_test, merchant, test_merchant, rates):
    active = new_plan(merchant)
    paused = new_plan(merchant, frequency="weekly")
    portal.post(f"/portal/plans/{paused.pk}/pause/")
    new_plan(test_merchant)
    listed = [row["plan"].pk for row in portal.get("/portal/plans/").context["rows"]]
    assert listed == [paused.pk, active.pk]
    only_paused = portal.get("/portal/plans/", {"status": "paused"}).context["rows"]
    assert [row["plan"].pk for row in only_paused] == [paused.pk]
    assert len(portal_test.get("/portal/plans/").context["rows"]) == 1


def test_detail_shows_amount_and_charge_history(portal, merchant, rates):
    plan = new_plan(merchant, fiat_amount_int=1999)
    pr = make_request(merchant, reference="CHG001")
    Charge.objects.create(
        plan=plan, slot=0, due_at=plan.anchor_at, payment_request=pr, status="created"
    )
    Charge.objects.create(
        plan=plan,
        slot=1,
        due_at=plan.anchor_at,
        status="failed",
        failure_code="fx_unavailable",
    )
    response = portal.get(f"/portal/plans/{plan.pk}/")
    assert b"19.99" in response.content
    assert b"CHG001" in response.content
    assert b"fx_unavailable" in response.content
    # The code comes with its registry message, not alone.
    assert ErrorCode.FX_UNAVAILABLE.message in response.content.decode()
    assert [c.slot for c in response.context["charges"]] == [1, 0]


def test_pause_resume_cancel(portal, merchant, rates):
    plan = new_plan(merchant)
    assert codes(portal.post(f"/portal/plans/{plan.pk}/pause/", follow=True)) == []
    plan.refresh_from_db()
    assert plan.status == "paused"
    assert plan.next_charge_at is None
    portal.post(f"/portal/plans/{plan.pk}/resume/")
    plan.refresh_from_db()
    assert plan.status == "active"
    assert plan.next_charge_at is not None
    portal.post(f"/portal/plans/{plan.pk}/cancel/")
    plan.refresh_from_db()
    assert plan.status == "cancelled"


@pytest.mark.parametrize(
    ("setup", "action", "code"),
    [
        (None, "resume", "can_only_resume_paused_plans"),
        ("pause", "pause", "can_only_pause_active_plans"),
        ("cancel", "cancel", "plan_already_terminated"),
        ("cancel", "resume", "plan_already_terminated"),
    ],
)
def test_refusals_show_their_code(portal, merchant, rates, setup, action, code):
    plan = new_plan(merchant)
    if setup:
        portal.post(f"/portal/plans/{plan.pk}/{setup}/")
    response = portal.post(f"/portal/plans/{plan.pk}/{action}/", follow=True)
    assert codes(response) == [code]


def test_unknown_action_is_404(portal, merchant, rates):
    plan = new_plan(merchant)
    assert portal.post(f"/portal/plans/{plan.pk}/delete/").status_code == 404
    assert portal.get(f"/portal/plans/{plan.pk}/pause/").status_code == 405


def test_charge_history_pages_back_to_the_first_charge(portal, merchant, rates):
    """A daily plan's first charges fell off the page after 50 days: the
    history showed the latest 50 with nothing saying there were more, and
    no way to reach them (the API lists plans, not their charges)."""
    import re

    plan = new_plan(merchant, frequency="daily")
    Charge.objects.bulk_create(
        Charge(
            plan=plan,
            slot=slot,
            due_at=plan.anchor_at,
            status="failed",
            failure_code="x",
        )
        for slot in range(57)
    )
    seen, url = [], f"/portal/plans/{plan.pk}/"
    while url:
        response = portal.get(url)
        assert response.status_code == 200
        seen += [c.slot for c in response.context["charges"]]
        older = re.search(r'href="(\?before=\d+)"', response.content.decode())
        url = older and f"/portal/plans/{plan.pk}/{older[1]}"
        assert len(seen) <= 57, "a charge came twice"
    assert seen == list(range(56, -1, -1))
    # A bad value is the first page, not a 500.
    assert portal.get(f"/portal/plans/{plan.pk}/?before=x").status_code == 200


@pytest.mark.parametrize("status", ["", "paused"])
def test_the_status_tab_shown_is_marked_for_screen_readers(portal, merchant, status):
    """The tab listing the plans shown was marked only by a CSS class (its
    colour): nothing told a screen reader which status filter was on."""
    import re

    html = portal.get("/portal/plans/", {"status": status} if status else {})
    tabs = re.search(r'<nav class="tabs".*?</nav>', html.content.decode(), re.S)[0]
    current = re.findall(r'<a [^>]*aria-current="page"[^>]*>([^<]+)</a>', tabs)
    assert current == [status or "All"]
