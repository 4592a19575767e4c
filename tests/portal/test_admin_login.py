"""D27: /admin/login/ has the portal's limit: 10 failures per 15 min per IP and user."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.portal.test_login import wait_text

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


@pytest.fixture
def staff():
    return get_user_model().objects.create_user(
        "ops@jopay.example", password="right-horse-battery", is_staff=True
    )


def attempt(client, username, password, ip="198.51.100.1"):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_a_good_sign_in_still_works(client, staff):
    assert client.get(LOGIN).status_code == 200
    response = attempt(client, staff.username, "right-horse-battery")
    assert response.status_code == 302


def test_the_eleventh_failure_is_refused_even_with_the_right_password(client, staff):
    for _ in range(10):
        assert attempt(client, staff.username, "wrong").status_code == 200
    blocked = attempt(client, staff.username, "right-horse-battery")
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    wait = wait_text(int(blocked["Retry-After"]))
    assert blocked.content.decode() == f"Too many failed sign-ins. Try again in {wait}."
    # The account is limited from another address too (per user) ...
    assert attempt(client, staff.username, "wrong", ip="203.0.113.7").status_code == 429


def test_one_address_guessing_many_accounts_is_limited(client, staff):
    for n in range(10):
        assert attempt(client, f"guess{n}@example.com", "x").status_code == 200
    # ... and an address is limited across account names (per IP).
    assert attempt(client, staff.username, "right-horse-battery").status_code == 429
    other = attempt(client, staff.username, "right-horse-battery", ip="203.0.113.8")
    assert other.status_code == 302


def test_look_alike_spellings_of_an_account_share_its_limit(client, staff):
    # Django's login form applies NFKC: "ｏps@…" (fullwidth o) signs in as
    # "ops@…". Counted under its own spelling, each look-alike opened a fresh
    # bucket: unlimited guesses at a staff password from many addresses.
    for n in range(10):
        attempt(client, staff.username, "wrong", ip=f"198.51.100.{n + 10}")
    look_alike = "\uff4fps@jopay.example"
    blocked = attempt(client, look_alike, "right-horse-battery", ip="203.0.113.9")
    assert blocked.status_code == 429


PASSWORD_CHANGE = "/admin/password_change/"


def change_password(client, old, new="new-zebra-lantern-42"):
    return client.post(
        PASSWORD_CHANGE,
        {"old_password": old, "new_password1": new, "new_password2": new},
        REMOTE_ADDR="198.51.100.1",
    )


def test_wrong_current_passwords_on_the_admin_password_change_are_limited(
    client, staff
):
    # A stolen staff session could guess the password here without end and
    # keep the account after the session expires (D27, as on the portal).
    client.force_login(staff)
    assert client.get(PASSWORD_CHANGE).status_code == 200
    for _ in range(10):
        response = change_password(client, "wrong")
        assert response.status_code == 200
        assert response.context["form"].has_error("old_password", "password_incorrect")
    blocked = change_password(client, "right-horse-battery")
    assert blocked.status_code == 429
    assert blocked.content.decode().startswith("Too many failed sign-ins or wrong")
    staff.refresh_from_db()
    assert staff.check_password("right-horse-battery")  # not changed
    # The same account's sign-in is limited too: one counter per account.
    assert attempt(client, staff.username, "right-horse-battery").status_code == 429


def test_a_right_current_password_changes_it_and_is_not_counted(client, staff):
    client.force_login(staff)
    for _ in range(9):
        change_password(client, "wrong")
    response = change_password(client, "right-horse-battery")
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.check_password("new-zebra-lantern-42")
    # Not a failure: the account has one failure left, not none.
    assert attempt(client, staff.username, "new-zebra-lantern-42").status_code == 302


def test_the_admin_password_change_still_asks_a_stranger_to_sign_in(client, db):
    response = change_password(client, "anything")
    assert response.status_code == 302
    assert "login/?next=/admin/password_change/" in response["Location"]
