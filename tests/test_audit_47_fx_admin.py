"""The FX rates page for staff who may only view it (D31): no button that
does nothing, and a refresh posted anyway is refused, not ignored."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from payments.models import FxRate

pytestmark = pytest.mark.django_db

FX = "/admin/payments/fxrate/"


def staff_with(*codenames: str) -> Client:
    user = User.objects.create_user("fx-staff", password="x" * 12, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=codenames, content_type__app_label="payments"
        )
    )
    client = Client()
    client.force_login(user)
    return client


def test_a_view_only_user_sees_no_refresh_button():
    page = staff_with("view_fxrate").get(FX)
    assert page.status_code == 200
    assert b"Refresh from feeds" not in page.content


def test_a_view_only_users_refresh_is_refused_and_fetches_nothing():
    with mock.patch("payments.admin.fx.fx_refresh") as refresh:
        answer = staff_with("view_fxrate").post(f"{FX}refresh/")
    assert answer.status_code == 403
    refresh.assert_not_called()
    assert not FxRate.objects.exists()


def test_staff_who_may_change_rates_still_get_the_button():
    page = staff_with("view_fxrate", "change_fxrate").get(FX)
    assert b"Refresh from feeds" in page.content
