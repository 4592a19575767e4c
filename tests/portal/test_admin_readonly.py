"""A payment request's admin page is view-only; its actions still work.

Saving the change form wrote every field back as read when the POST began, so
a verification (or cancel) committed meanwhile was silently undone. The page
now has no Save and refuses a POST; support acts through the actions and the
attach-proof page, which call the services under row locks (STYLE.md "Admin
is for support", D18, D21).
"""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection

from payments.admin.requests import PaymentRequestAdmin
from payments.models import PaymentRequest
from tests.portal.conftest import make_request
from tests.portal.test_admin import CHANGELIST, run_action

pytestmark = pytest.mark.django_db


def change_url(pr) -> str:
    return f"{CHANGELIST}{pr.pk}/change/"


def committed_elsewhere(work) -> None:
    """Run ``work`` on another connection and commit it, as another process would."""

    def run():
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


@pytest.mark.django_db(transaction=True)
def test_saving_the_page_cannot_undo_a_concurrent_verification(
    admin_client, merchant, monkeypatch
):
    pr = make_request(merchant)  # requested / none
    original = PaymentRequestAdmin.get_object

    def get_object(self, request, object_id, from_field=None):
        obj = original(self, request, object_id, from_field)
        if request.method == "POST":
            # The verifier commits 'paid' after the staff POST read the row.
            committed_elsewhere(
                lambda: PaymentRequest.objects.filter(pk=pr.pk).update(
                    status="paid", proof_status="verified"
                )
            )
        return obj

    monkeypatch.setattr(PaymentRequestAdmin, "get_object", get_object)

    response = admin_client.post(change_url(pr), {"_save": "Save"})

    pr.refresh_from_db()
    assert (pr.status, pr.proof_status) == ("paid", "verified")
    assert response.status_code == 403


def test_the_page_offers_no_save_but_still_the_attach_form(admin_client, merchant):
    pr = make_request(merchant)
    page = admin_client.get(change_url(pr))
    assert page.status_code == 200
    for button in (b'name="_save"', b'name="_continue"', b'name="_addanother"'):
        assert button not in page.content
    assert f"{CHANGELIST}{pr.pk}/attach-proof/".encode() in page.content


def support_client(client, *codenames: str):
    user = get_user_model().objects.create_user(
        "support", password="x" * 12, is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


def test_staff_with_the_change_permission_still_cancel_and_attach(client, merchant):
    """Not a superuser: the actions are granted by the model's change permission."""
    staff = support_client(client, "view_paymentrequest", "change_paymentrequest")
    pr = make_request(merchant)
    assert f"{CHANGELIST}{pr.pk}/attach-proof/".encode() in (
        staff.get(change_url(pr)).content
    )
    assert staff.get(f"{CHANGELIST}{pr.pk}/attach-proof/").status_code == 200
    run_action(staff, CHANGELIST, "cancel", [pr.pk])
    pr.refresh_from_db()
    assert pr.status == "cancelled"


def test_view_only_staff_see_no_attach_link(client, merchant):
    viewer = support_client(client, "view_paymentrequest")
    pr = make_request(merchant)
    page = viewer.get(change_url(pr))
    assert page.status_code == 200
    assert b"attach-proof" not in page.content
    assert viewer.get(f"{CHANGELIST}{pr.pk}/attach-proof/").status_code == 403
