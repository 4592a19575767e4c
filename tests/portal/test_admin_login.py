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
