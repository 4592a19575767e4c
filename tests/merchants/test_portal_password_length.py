"""A portal user's password is never longer than the sign-in form takes.

The portal's login form (and its password page) take at most 256 characters;
a longer password set by the operator's ``create_partner_user`` or by staff in
the admin was stored, and its user could then never sign in with it: the form
refused every attempt as too long.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from merchants.models import AuditEntry
from tests.factories import PartnerUserFactory

pytestmark = pytest.mark.django_db

LONGEST = "p" * 255 + "!"  # 256 characters: the sign-in form's limit
TOO_LONG = LONGEST + "x"


def sign_in(email: str, password: str) -> int:
    response = Client().post("/portal/login/", {"email": email, "password": password})
    return response.status_code


def test_the_command_refuses_a_password_the_login_form_cannot_take(partner):
    with pytest.raises(CommandError, match="256"):
        call_command(
            "create_partner_user",
            partner=partner.slug,
            email="carol@example.com",
            password=TOO_LONG,
            stdout=io.StringIO(),
        )
    assert not User.objects.filter(username="carol@example.com").exists()
    assert not AuditEntry.objects.exists()


def test_the_command_takes_the_longest_password_and_it_signs_in(partner):
    call_command(
        "create_partner_user",
        partner=partner.slug,
        email="carol@example.com",
        password=LONGEST,
        stdout=io.StringIO(),
    )
    assert sign_in("carol@example.com", LONGEST) == 302


@pytest.fixture
def portal_user(partner) -> User:
    return PartnerUserFactory(partner=partner, user__username="ops@alice.example").user


def set_password(client, user, password):
    return client.post(
        f"/admin/auth/user/{user.pk}/password/",
        {"usable_password": "true", "password1": password, "password2": password},
    )


def test_staff_cannot_give_a_portal_user_a_password_it_cannot_sign_in_with(
    admin_client, portal_user
):
    before = User.objects.get(pk=portal_user.pk).password

    response = set_password(admin_client, portal_user, TOO_LONG)

    assert response.status_code == 200  # the form again, with its error
    assert "256" in " ".join(response.context["form"].errors["password1"])
    assert User.objects.get(pk=portal_user.pk).password == before
    assert not AuditEntry.objects.filter(action="portal_user.password_set").exists()


def test_staff_set_the_longest_password_and_it_signs_in(admin_client, portal_user):
    assert set_password(admin_client, portal_user, LONGEST).status_code == 302
    assert sign_in("ops@alice.example", LONGEST) == 302


def test_a_staff_accounts_own_password_has_no_such_limit(admin_client):
    """The admin's sign-in takes any length: the limit is the portal's."""
    staff = User.objects.create_user(
        "support@jopay.example", password="x-long-enough-1", is_staff=True
    )
    assert set_password(admin_client, staff, TOO_LONG).status_code == 302
