"""Admin: support view of plans with read-only charges; actions call the services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from jopay_project.admin_actions import CONFIRM_FIELD, CONFIRM_VALUE
from recurring.models import Plan
from recurring.services import plans_charge_due

CHANGELIST = "admin:recurring_plan_changelist"


@pytest.fixture
def staff(admin_client):
    return admin_client


def test_changelist_and_change_page_with_charges_render(staff, make_plan, eur_rate):
    plan = make_plan()
    plans_charge_due()
    listing = staff.get(reverse(CHANGELIST), {"status": "active"})
    assert listing.status_code == 200
    assert str(plan.pk) in listing.content.decode()
    assert "25.00 EUR" in listing.content.decode()  # not "2500 | EUR"
    page = staff.get(reverse("admin:recurring_plan_change", args=[plan.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "charge #" in body
    assert str(plan.charges.get().payment_request_id) in body


def test_plans_cannot_be_added_or_deleted_in_admin(staff, make_plan):
    plan = make_plan()
    assert staff.get(reverse("admin:recurring_plan_add")).status_code == 403
    assert (
        staff.get(reverse("admin:recurring_plan_delete", args=[plan.pk])).status_code
        == 403
    )


def act(staff, action: str, plans) -> None:
    """As the Confirm button of ``confirm_first``'s page posts it."""
    response = staff.post(
        reverse(CHANGELIST),
        {
            "action": action,
            "_selected_action": [str(p.pk) for p in plans],
            CONFIRM_FIELD: CONFIRM_VALUE,
        },
        follow=True,
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


def test_pause_resume_cancel_actions_use_the_service_rules(staff, make_plan):
    a, b = make_plan(), make_plan()
    assert act(staff, "pause_plans", [a]) == ["Paused 1 plan(s)."]
    # b is active, so resume refuses it with the API's code; a is resumed.
    messages = act(staff, "resume_plans", [a, b])
    assert messages[0] == "Resumed 1 plan(s)."
    assert "can_only_resume_paused_plans" in messages[1]
    act(staff, "cancel_plans", [a, b])
    assert set(Plan.objects.values_list("status", flat=True)) == {"cancelled"}
    messages = act(staff, "cancel_plans", [a])
    assert "plan_already_terminated" in messages[0]


# --- a read-only change page, and an audit trail (STYLE.md "Admin is for support")


@pytest.mark.django_db(transaction=True)
def test_saving_the_plan_page_cannot_undo_a_concurrent_change(
    staff, make_plan, monkeypatch
):
    """The change form used to write back every field as read when the POST
    began, undoing a charge or pause committed meanwhile. It is view-only now."""
    from recurring.admin import PlanAdmin
    from tests.portal.test_admin_readonly import committed_elsewhere

    plan = make_plan()
    original = PlanAdmin.get_object

    def get_object(self, request, object_id, from_field=None):
        obj = original(self, request, object_id, from_field)
        if request.method == "POST":  # the charging job commits after the read
            committed_elsewhere(
                lambda: Plan.objects.filter(pk=plan.pk).update(
                    status="paused", charges_count=1
                )
            )
        return obj

    monkeypatch.setattr(PlanAdmin, "get_object", get_object)
    url = reverse("admin:recurring_plan_change", args=[plan.pk])

    response = staff.post(url, {"_save": "Save"})

    plan.refresh_from_db()
    assert (plan.status, plan.charges_count) == ("paused", 1)
    assert response.status_code == 403
    assert b'name="_save"' not in staff.get(url).content


def test_plan_actions_need_the_change_permission_and_are_logged(client, make_plan):
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.auth.models import Permission, User

    support = User.objects.create_user("support", password="x" * 12, is_staff=True)
    support.user_permissions.set(
        Permission.objects.filter(codename__in=["view_plan", "change_plan"])
    )
    client.force_login(support)
    plan = make_plan()
    for action in ("pause_plans", "resume_plans", "cancel_plans"):
        act(client, action, [plan])
    plan.refresh_from_db()
    assert plan.status == "cancelled"
    entries = LogEntry.objects.filter(object_id=str(plan.pk)).order_by("action_time")
    assert [(e.user.username, e.action_flag, e.change_message) for e in entries] == [
        ("support", CHANGE, "Paused the plan"),
        ("support", CHANGE, "Resumed the plan"),
        ("support", CHANGE, "Cancelled the plan"),
    ]


def test_cancelling_plans_asks_first(staff, make_plan):
    """Cancel cannot be undone (plan_already_terminated): the first POST only
    lists the plans; the page's Confirm button runs it."""
    plan = make_plan()
    url = reverse(CHANGELIST)

    page = staff.post(url, {"action": "cancel_plans", "_selected_action": [plan.pk]})

    assert page.status_code == 200
    assert "admin/action_confirmation.html" in [t.name for t in page.templates]
    assert f'name="{CONFIRM_FIELD}" value="{CONFIRM_VALUE}"' in page.content.decode()
    plan.refresh_from_db()
    assert plan.status == "active"
    assert act(staff, "cancel_plans", [plan]) == ["Cancelled 1 plan(s)."]


def test_plans_are_found_by_exact_identifier(
    staff, make_plan, merchant, rf, admin_user
):
    """icontains on five columns and two joins, OR-ed per term, read every
    plan; ids and partner slugs are now looked up on indexes."""
    from tests.portal.test_admin_search import assert_indexed, search_plan

    plan = make_plan()

    def found(term):
        page = staff.get(reverse(CHANGELIST), {"q": term})
        assert page.status_code == 200
        return {p.pk for p in page.context["cl"].result_list}

    assert found(str(plan.pk)) == {plan.pk}
    assert found(str(merchant.pk)) == {plan.pk}
    assert found(plan.partner.slug) == {plan.pk}
    assert found(plan.customer_wallet.lower()) == {plan.pk}
    assert found(str(plan.pk)[:-1]) == set()  # malformed: never a 500
    # The customer wallet too, on plan_customer_wallet (it read every plan).
    for term in (str(plan.pk), plan.partner.slug, plan.customer_wallet.lower()):
        assert_indexed(search_plan(rf, admin_user, Plan, term), "recurring_plan")


def test_a_customer_wallet_search_reads_only_the_wallet_index(
    make_plan, rf, admin_user
):
    from tests.portal.test_admin_search import index_names, search_plan

    plan = make_plan()

    plan_json = search_plan(rf, admin_user, Plan, plan.customer_wallet.lower())

    assert index_names(plan_json) == {"plan_customer_wallet"}


def test_staff_can_pick_out_the_plans_the_job_paused_after_failures(staff, make_plan):
    """D29: after an outage staff resume the plans three failed charges paused,
    not the ones a partner paused on purpose (helper audit: no way to tell)."""
    by_failures, by_hand, active = make_plan(), make_plan(), make_plan()
    act(staff, "pause_plans", [by_hand])
    Plan.objects.filter(pk=by_failures.pk).update(
        status=Plan.Status.PAUSED, consecutive_failures=3
    )
    Plan.objects.filter(pk=by_hand.pk).update(consecutive_failures=2)

    def listed(paused_by):
        page = staff.get(reverse(CHANGELIST), {"paused_by": paused_by})
        assert page.status_code == 200
        return {str(p.pk) for p in page.context["cl"].result_list}

    assert listed("failures") == {str(by_failures.pk)}
    assert listed("hand") == {str(by_hand.pk)}
    assert str(active.pk) not in listed("failures") | listed("hand")


# --- the charges inline: one page at a time (recurring/admin_charges.py)


def _failed_charges(plan, count: int) -> None:
    from django.utils import timezone

    from recurring.models import Charge

    Charge.objects.bulk_create(
        Charge(
            plan=plan,
            slot=slot,
            due_at=timezone.now(),
            status=Charge.Status.FAILED,
            failure_code=f"code_{slot}",
        )
        for slot in range(count)
    )


def _shown(page) -> list[str]:
    import re

    return re.findall(r"code_(\d+)", page.content.decode())


def test_the_plan_page_lists_its_charges_a_page_at_a_time(staff, make_plan):
    """A daily plan's page listed every charge it ever made (2.9 s at 2 000)."""
    from recurring.admin_charges import CHARGES_PER_PAGE

    plan = make_plan()
    _failed_charges(plan, 2 * CHARGES_PER_PAGE + 20)  # 120: three pages
    url = reverse("admin:recurring_plan_change", args=[plan.pk])

    first = staff.get(url)
    assert first.status_code == 200
    assert _shown(first) == [str(s) for s in range(119, 69, -1)]
    body = first.content.decode()
    assert "Showing 50 of 120 charges, newest first." in body
    assert 'href="?charges_before=70"' in body

    second = staff.get(url, {"charges_before": "70"})
    assert _shown(second) == [str(s) for s in range(69, 19, -1)]
    assert "before charge #71" in second.content.decode()
    assert 'href="?charges_before=20"' in second.content.decode()

    last = staff.get(url, {"charges_before": "20"})
    assert _shown(last) == [str(s) for s in range(19, -1, -1)]
    assert "Older charges" not in last.content.decode()
    assert "Newest charges" in last.content.decode()


@pytest.mark.parametrize("junk", ["abc", "-5", "1e3", "٣", "9" * 30, ""])
def test_a_malformed_charges_page_shows_the_newest(staff, make_plan, junk):
    plan = make_plan()
    _failed_charges(plan, 3)
    page = staff.get(
        reverse("admin:recurring_plan_change", args=[plan.pk]), {"charges_before": junk}
    )
    assert page.status_code == 200
    assert _shown(page) == ["2", "1", "0"]


def test_the_plan_page_costs_the_same_queries_at_any_number_of_charges(
    staff, make_plan
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small, big = make_plan(), make_plan()
    _failed_charges(small, 2)
    _failed_charges(big, 500)
    counts = []
    for plan in (small, big):
        with CaptureQueriesContext(connection) as queries:
            staff.get(reverse("admin:recurring_plan_change", args=[plan.pk]))
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_plan_without_charges_says_so(staff, make_plan):
    plan = make_plan()
    page = staff.get(reverse("admin:recurring_plan_change", args=[plan.pk]))
    assert "No charges yet." in page.content.decode()


@pytest.mark.parametrize("action", ["pause_plans", "resume_plans", "cancel_plans"])
def test_plan_actions_refuse_more_rows_than_one_click_can_finish(
    staff, make_plan, monkeypatch, action
):
    # "Select all" over every plan ran one service call per plan in one
    # request, past any timeout, half done (jopay_project.admin_actions).
    from jopay_project import admin_actions

    monkeypatch.setattr(admin_actions, "MAX_ROWS", 1)
    a, b = make_plan(), make_plan()
    if action == "resume_plans":
        act(staff, "pause_plans", [a])
        act(staff, "pause_plans", [b])
    before = sorted(Plan.objects.values_list("status", flat=True))
    messages = act(staff, action, [a, b])
    assert any("Select at most 1 rows" in m for m in messages), messages
    assert sorted(Plan.objects.values_list("status", flat=True)) == before


def test_a_filtered_plan_list_counts_the_table_once(staff, make_plan):
    # With Django's default, a filtered or searched page also counted every
    # plan ("5 results (200 000 total)"): a second COUNT(*) of the whole
    # growing table per page, as events and deliveries no longer do.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_plan()
    with CaptureQueriesContext(connection) as queries:
        page = staff.get(reverse(CHANGELIST), {"status": "active"})
    assert page.status_code == 200
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1, counts
