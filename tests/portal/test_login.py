"""Password sign-in, its failure throttle (D27: 10 per 15 min per IP and per user),
logout, and the ``next`` target."""

from __future__ import annotations

import pytest
from django.test import Client

from jopay_project import ratelimits
from tests.factories import UserFactory
from tests.portal.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def attempt(client: Client, email: str, password: str, **extra):
    return client.post(
        "/portal/login/", {"email": email, "password": password}, **extra
    )


def test_login_page_renders(client):
    response = client.get("/portal/login/")
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_partner_user_signs_in_and_lands_on_the_dashboard(client, alice_user):
    response = attempt(client, "alice@example.com", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200


def test_email_is_case_insensitive(client, alice_user):
    assert attempt(client, "Alice@Example.com", PASSWORD).status_code == 302


def test_next_is_followed_only_within_the_portal(client, alice_user):
    response = client.post(
        "/portal/login/",
        {"email": "alice@example.com", "password": PASSWORD, "next": "/portal/plans/"},
    )
    assert response["Location"] == "/portal/plans/"
    client.logout()
    response = client.post(
        "/portal/login/",
        {
            "email": "alice@example.com",
            "password": PASSWORD,
            "next": "//evil.example/portal/",
        },
    )
    assert response["Location"] == "/portal/"


def test_wrong_password_is_refused(client, alice_user):
    response = attempt(client, "alice@example.com", "nope")
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_a_user_without_partner_membership_cannot_sign_in(client, db):
    UserFactory(username="staff@jopay.example", email="staff@jopay.example")
    response = attempt(client, "staff@jopay.example", PASSWORD)
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_inactive_user_or_partner_cannot_sign_in(client, alice_user, partner):
    partner.is_active = False
    partner.save()
    assert attempt(client, "alice@example.com", PASSWORD).status_code == 400
    partner.is_active = True
    partner.save()
    alice_user.user.is_active = False
    alice_user.user.save()
    assert attempt(client, "alice@example.com", PASSWORD).status_code == 400


def test_ten_failures_lock_the_account_even_for_the_right_password(alice_user):
    """D27: failures are counted per user, from any address."""
    for n in range(10):
        client = Client(REMOTE_ADDR=f"10.0.0.{n + 1}")
        assert attempt(client, "alice@example.com", "wrong").status_code == 400
    client = Client(REMOTE_ADDR="10.0.1.1")
    response = attempt(client, "alice@example.com", PASSWORD)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert b"Too many failed sign-ins" in response.content
    assert f"Try again in {wait_text(int(response['Retry-After']))}." in (
        response.content.decode()
    )
    assert "_auth_user_id" not in client.session


def test_ten_failures_from_one_address_block_that_address(alice_user, bob_user):
    """D27: failures are counted per client address, whatever the account."""
    client = Client(REMOTE_ADDR="10.9.9.9")
    for n in range(10):
        assert attempt(client, f"nobody{n}@example.com", "x").status_code == 400
    assert attempt(client, "bob@example.com", PASSWORD).status_code == 429
    # Another address and another account are unaffected.
    assert (
        attempt(Client(REMOTE_ADDR="10.9.9.8"), "bob@example.com", PASSWORD)["Location"]
        == "/portal/"
    )


def test_nine_failures_still_allow_the_right_password(client, alice_user):
    for _ in range(9):
        attempt(client, "alice@example.com", "wrong")
    assert attempt(client, "alice@example.com", PASSWORD).status_code == 302


def test_successful_sign_ins_are_not_counted(alice_user):
    for _ in range(12):
        client = Client()
        assert attempt(client, "alice@example.com", PASSWORD).status_code == 302


def test_logout_needs_post(portal):
    assert portal.get("/portal/logout/").status_code == 405
    response = portal.post("/portal/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/portal/login/"
    assert portal.get("/portal/").status_code == 302


def test_signed_in_user_visiting_login_goes_to_the_dashboard(portal):
    response = portal.get("/portal/login/")
    assert response.status_code == 302
    assert response["Location"] == "/portal/"


def test_sign_in_starts_in_live_mode(client, alice_user):
    attempt(client, "alice@example.com", PASSWORD)
    assert client.session["portal_test_mode"] is False


def test_sign_in_fails_closed_while_the_counters_are_unreachable(
    client, alice_user, counters_down
):
    """The failure throttle is what stops a guessing loop: with nothing able to
    count, sign-in is refused for a short while instead of left unguarded."""
    response = attempt(client, "alice@example.com", PASSWORD)
    assert response.status_code == 429
    assert response["Retry-After"] == str(ratelimits.OUTAGE_RETRY_SECONDS)
    assert "_auth_user_id" not in client.session
    # Not blamed on the user's failures; the wait is the header's, in seconds.
    text = response.content.decode()
    assert "Too many failed sign-ins" not in text
    assert "Sign-in is briefly unavailable." in text
    assert f"Try again in {ratelimits.OUTAGE_RETRY_SECONDS} seconds." in text


def wait_text(seconds: int) -> str:
    """The wait as the page words it: seconds under a minute, else whole
    minutes rounded up (never sooner than ``Retry-After``)."""
    if seconds < 60:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


@pytest.mark.parametrize(
    ("wait", "text"),
    [
        (1, "1 second"),
        (45, "45 seconds"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (900, "15 minutes"),
    ],
)
def test_the_refusal_never_promises_sooner_than_retry_after(wait, text):
    from merchants.portal.login_limits import LoginAttempt, login_refusal_text

    assert login_refusal_text(LoginAttempt(wait=wait)) == (
        f"Too many failed sign-ins. Try again in {text}."
    )
    assert login_refusal_text(LoginAttempt(wait=wait, unavailable=True)) == (
        f"Sign-in is briefly unavailable. Try again in {text}."
    )
