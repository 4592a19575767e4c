"""``/portal/password/``: a portal user changes their own password.

Django's ``PasswordChangeForm`` with the portal's validators (10 characters,
not a common password); wrong current passwords are failed sign-ins (D27,
10 per 15 minutes per address and per account, failing closed without the
counters); the changing session stays signed in, every other one is signed out.
"""

from __future__ import annotations

import logging
import re

import pytest
from django.test import Client

from jopay_project import ratelimits
from merchants.models import AuditEntry
from tests.portal.conftest import PASSWORD, logged_in

pytestmark = pytest.mark.django_db

URL = "/portal/password/"
NEW = "a-new-long-passphrase"


def change(
    client: Client, old: str = PASSWORD, new: str = NEW, again: str | None = None
):
    return client.post(
        URL,
        {
            "old_password": old,
            "new_password1": new,
            "new_password2": new if again is None else again,
        },
    )


def sign_in(email: str, password: str, **client_kwargs) -> Client:
    client = Client(**client_kwargs)
    client.post("/portal/login/", {"email": email, "password": password})
    return client


def signed_in(client: Client) -> bool:
    return client.get("/portal/").status_code == 200


def password_is(partner_user, password: str) -> bool:
    partner_user.user.refresh_from_db()
    return partner_user.user.check_password(password)


def test_the_page_is_linked_from_the_nav_and_settings(portal):
    assert f'href="{URL}"'.encode() in portal.get("/portal/").content
    assert f'href="{URL}"'.encode() in portal.get("/portal/settings/").content


def test_the_form_names_its_fields_for_people_and_password_managers(portal):
    response = portal.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    for name, label, autocomplete in [
        ("old_password", "Current password", "current-password"),
        ("new_password1", "New password", "new-password"),
        ("new_password2", "New password again", "new-password"),
    ]:
        assert f'<label for="id_{name}">{label}</label>' in html
        assert f'autocomplete="{autocomplete}"' in html
        assert f'id="id_{name}"' in html
    # The validators' rules, announced with the new password field.
    assert "at least 10 characters" in html
    assert 'aria-describedby="id_new_password1_helptext"' in html
    assert 'autocomplete="username"' in html  # so a manager files it right


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/portal/login/?next=/portal/password/"


def test_changing_keeps_this_session_and_signs_out_the_others(alice_user):
    email = alice_user.user.email
    here = sign_in(email, PASSWORD)
    elsewhere = sign_in(email, PASSWORD, REMOTE_ADDR="10.1.1.1")
    assert signed_in(here)
    assert signed_in(elsewhere)

    response = change(here)
    assert response.status_code == 302
    assert response["Location"] == URL
    assert "Password changed" in here.get(URL).content.decode()
    assert signed_in(here)
    assert not signed_in(elsewhere)
    assert elsewhere.get("/portal/")["Location"].startswith("/portal/login/")

    assert password_is(alice_user, NEW)
    assert sign_in(email, PASSWORD).get("/portal/").status_code == 302
    assert signed_in(sign_in(email, NEW))


def test_the_change_is_audited_without_the_password(
    portal, alice_user, caplog, django_capture_on_commit_callbacks
):
    with (
        caplog.at_level(logging.INFO, logger="jopay.audit"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert change(portal).status_code == 302
    entry = AuditEntry.objects.get(action="portal_user.password_changed")
    assert entry.partner_id == alice_user.partner_id
    assert (entry.actor_kind, entry.actor) == ("portal_user", "alice@example.com")
    assert entry.target == "alice@example.com"
    assert entry.details == {}
    assert "action=portal_user.password_changed" in caplog.text
    assert NEW not in caplog.text
    assert PASSWORD not in caplog.text
    # The partner sees it on the Activity page.
    assert (
        "portal_user.password_changed"
        in portal.get("/portal/activity/").content.decode()
    )


def test_a_wrong_current_password_is_refused(portal, alice_user):
    response = change(portal, old="not-my-password")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Your current password is not correct." in html
    assert password_is(alice_user, PASSWORD)
    assert not AuditEntry.objects.filter(action="portal_user.password_changed").exists()
    # FocusFirstInvalid: the form opens at the refused field.
    assert re.search(r'<input[^>]*name="old_password"[^>]*autofocus', html)
    assert not re.search(r'<input[^>]*name="new_password1"[^>]*autofocus', html)


def test_the_new_passwords_must_match(portal, alice_user):
    response = change(portal, again=NEW + "x")
    assert response.status_code == 400
    assert "The two new passwords are not the same." in response.content.decode()
    assert password_is(alice_user, PASSWORD)


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("short-pw1", "This password is too short. It must contain at least 10"),
        ("password123", "This password is too common."),
        (PASSWORD, "The new password is your current one."),
        ("x" * 257, "Ensure this value has at most 256 characters"),
    ],
)
def test_the_new_password_follows_the_rules(portal, alice_user, new, message):
    """AUTH_PASSWORD_VALIDATORS (settings) apply; 256 is the login form's
    limit, so a longer password could never be typed in to sign in."""
    response = change(portal, new=new)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'id="id_new_password1_error"' in html  # under the new password
    assert password_is(alice_user, PASSWORD)


def test_every_field_is_required(portal, alice_user):
    response = portal.post(URL, {})
    assert response.status_code == 400
    assert response.content.decode().count("This field is required.") == 3


def test_wrong_current_passwords_count_as_failed_sign_ins(portal, alice_user):
    """D27: ten wrong current passwords fill the account's sign-in counter.
    The eleventh try is refused unchecked (429), even with the right password,
    and so is signing in from anywhere else."""
    for _ in range(10):
        assert change(portal, old="guess").status_code == 400
    response = change(portal)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert "Too many failed sign-ins or wrong passwords." in html
    assert "not correct" not in html  # the password was not even checked
    assert password_is(alice_user, PASSWORD)
    login = Client(REMOTE_ADDR="10.2.2.2").post(
        "/portal/login/", {"email": "alice@example.com", "password": PASSWORD}
    )
    assert login.status_code == 429


def test_failed_sign_ins_also_hold_the_change_back(portal, alice_user):
    for n in range(10):
        Client(REMOTE_ADDR=f"10.3.3.{n}").post(
            "/portal/login/", {"email": "alice@example.com", "password": "guess"}
        )
    assert change(portal).status_code == 429
    assert password_is(alice_user, PASSWORD)


def test_mistakes_in_the_new_password_are_not_failures(portal, alice_user):
    for _ in range(12):
        assert change(portal, again="something-else").status_code == 400
        assert change(portal, new="short").status_code == 400
    assert change(portal).status_code == 302


def test_the_change_fails_closed_while_the_counters_are_unreachable(
    portal, alice_user, counters_down
):
    """As sign-in does (D27): without its counters the current password
    could be guessed unthrottled, so the change waits; never a 500."""
    response = change(portal)
    assert response.status_code == 429
    assert response["Retry-After"] == str(ratelimits.OUTAGE_RETRY_SECONDS)
    html = response.content.decode()
    assert "Changing the password is briefly unavailable." in html
    assert "Too many" not in html
    assert password_is(alice_user, PASSWORD)
    assert portal.get(URL).status_code == 200  # the page itself still shows


def test_the_change_needs_the_csrf_token(alice_user):
    client = logged_in(alice_user, enforce_csrf_checks=True)
    data = {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
    assert client.post(URL, data).status_code == 403
    assert password_is(alice_user, PASSWORD)
    client.get(URL)
    token = client.cookies["csrftoken"].value
    assert client.post(URL, {**data, "csrfmiddlewaretoken": token}).status_code == 302
    assert password_is(alice_user, NEW)


def test_only_get_and_post(portal):
    assert portal.put(URL).status_code == 405
    assert portal.delete(URL).status_code == 405


def test_an_account_without_a_password_has_nothing_to_change(alice_user):
    """Single sign-on only (D33): no current password to prove, so a session
    alone cannot add one."""
    alice_user.user.set_unusable_password()
    alice_user.user.save()
    portal = logged_in(alice_user)  # as SSO signs in: no password involved
    page = portal.get(URL)
    assert page.status_code == 200
    assert b"password-sso-only" in page.content
    assert b'name="new_password1"' not in page.content
    response = change(portal, old="")
    assert response.status_code == 403
    alice_user.user.refresh_from_db()
    assert not alice_user.user.has_usable_password()


def test_a_deactivated_partners_user_is_signed_out_unchanged(portal, alice_user):
    alice_user.partner.is_active = False
    alice_user.partner.save()
    response = change(portal)
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/")
    assert password_is(alice_user, PASSWORD)
    assert "_auth_user_id" not in portal.session


def test_after_signing_in_the_page_is_a_place_to_come_back_to(client, alice_user):
    """A page, not a POST-only action: sign-in returns to it (``next``)."""
    response = client.post(
        "/portal/login/",
        {"email": "alice@example.com", "password": PASSWORD, "next": URL},
    )
    assert response["Location"] == URL


def test_a_change_made_meanwhile_elsewhere_is_not_overwritten(alice_user):
    """Two sessions change at once: the one whose check of the current
    password predates the other's change is refused, not saved over it."""
    from django.contrib.auth import get_user_model

    from merchants.portal.services import StalePasswordError, portal_password_change

    checked = get_user_model().objects.get(pk=alice_user.user.pk)  # as its form saw it
    portal_password_change(
        user=alice_user.user, partner=alice_user.partner, new_password=NEW
    )
    with pytest.raises(StalePasswordError):
        portal_password_change(
            user=checked, partner=alice_user.partner, new_password="another-passphrase"
        )
    assert password_is(alice_user, NEW)
    assert AuditEntry.objects.filter(action="portal_user.password_changed").count() == 1
