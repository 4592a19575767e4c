"""D27 under concurrency: 10 failures per 15 min per account and per address,
however many guesses arrive at once.

The limit used to be checked before the password and counted after it, so N
parallel guesses (each waiting ~0.3 s in PBKDF2) all passed the check. Now the
atomic increment is the check and a success gives its count back. These tests
slow the check down and fire 30 guesses at once, against the portal form, the
admin login and the SSO endpoint (real Redis counters, committed rows).
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from jopay_project.errors import ErrorCode, JoPayError
from merchants import sso
from merchants.portal import auth as portal_auth
from tests.portal.conftest import PASSWORD

GUESSES = 30
CHECK_SECONDS = 0.3  # production PBKDF2 (1 000 000 iterations) takes about this long


def _slowed(real, calls: Counter, lock: threading.Lock):
    def slow(*args, **kwargs):
        with lock:
            calls["checked"] += 1
        time.sleep(CHECK_SECONDS)
        return real(*args, **kwargs)

    return slow


def _fire(post) -> Counter:
    """``post(i, client)`` from GUESSES threads at once; the status codes seen."""
    statuses: Counter = Counter()
    lock = threading.Lock()
    start = threading.Barrier(GUESSES)

    def guess(i: int) -> None:
        try:
            client = Client(REMOTE_ADDR=f"198.51.100.{i + 1}")
            start.wait()
            response = post(i, client)
            with lock:
                statuses[response.status_code] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(GUESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.django_db(transaction=True)
def test_parallel_portal_guesses_check_at_most_ten_passwords(alice_user, monkeypatch):
    calls: Counter = Counter()
    monkeypatch.setattr(
        portal_auth,
        "authenticate",
        _slowed(portal_auth.authenticate, calls, threading.Lock()),
    )

    statuses = _fire(
        lambda i, client: client.post(
            "/portal/login/", {"email": "alice@example.com", "password": f"guess-{i}"}
        )
    )

    # D27: at most 10 failures per 15 min per account, from any address.
    assert calls["checked"] <= 10, (calls, statuses)
    assert statuses[400] == calls["checked"]
    assert statuses[429] == GUESSES - calls["checked"]
    # The account is spent: even the right password now waits.
    late = Client(REMOTE_ADDR="203.0.113.50").post(
        "/portal/login/", {"email": "alice@example.com", "password": PASSWORD}
    )
    assert late.status_code == 429


@pytest.mark.django_db(transaction=True)
def test_parallel_admin_guesses_check_at_most_ten_passwords(monkeypatch):
    get_user_model().objects.create_user(
        "ops@jopay.example", password="right-horse-battery", is_staff=True
    )
    calls: Counter = Counter()
    monkeypatch.setattr(
        auth_forms,
        "authenticate",
        _slowed(auth_forms.authenticate, calls, threading.Lock()),
    )

    statuses = _fire(
        lambda i, client: client.post(
            "/admin/login/", {"username": "ops@jopay.example", "password": f"g{i}"}
        )
    )

    assert calls["checked"] <= 10, (calls, statuses)
    assert statuses[429] == GUESSES - calls["checked"]


@pytest.mark.django_db(transaction=True)
def test_parallel_sso_failures_from_one_address_check_at_most_ten_tokens(
    monkeypatch,
):
    calls: Counter = Counter()
    lock = threading.Lock()

    def refuse(**kwargs):
        raise JoPayError(ErrorCode.INVALID_ID_TOKEN)

    monkeypatch.setattr(
        sso, "sso_config", lambda: sso.SsoConfig("https://idp", "aud", "https://j")
    )
    monkeypatch.setattr(sso, "sso_authenticate", _slowed(refuse, calls, lock))

    def post(i, client):
        client.defaults["REMOTE_ADDR"] = "198.51.100.77"  # one address (D27 per IP)
        return client.post("/portal/login/id-token", {"id_token": f"x.y.{i}"})

    statuses = _fire(post)

    assert calls["checked"] <= 10, (calls, statuses)
    assert statuses[401] == calls["checked"]
    assert statuses[429] == GUESSES - calls["checked"]


# --- what the count keeps and gives back (no threads) ----------------------------


@pytest.mark.django_db
def test_a_refused_attempt_does_not_use_up_the_address(alice_user, bob_user):
    """Attempts refused for a spent account were never tried: they do not count
    against the address they came from (D27 counts failures)."""
    for n in range(10):
        Client(REMOTE_ADDR=f"10.1.0.{n + 1}").post(
            "/portal/login/", {"email": "alice@example.com", "password": "wrong"}
        )
    client = Client(REMOTE_ADDR="10.2.0.1")
    for _ in range(15):
        response = client.post(
            "/portal/login/", {"email": "alice@example.com", "password": PASSWORD}
        )
        assert response.status_code == 429
    response = client.post(
        "/portal/login/", {"email": "bob@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302


@pytest.mark.django_db
def test_successes_between_failures_are_given_back(alice_user):
    client = Client(REMOTE_ADDR="10.3.0.1")

    def sign_in(password: str) -> int:
        return client.post(
            "/portal/login/", {"email": "alice@example.com", "password": password}
        ).status_code

    for _ in range(9):
        assert sign_in("wrong") == 400
    for _ in range(5):
        assert sign_in(PASSWORD) == 302
        client.logout()
    assert sign_in("wrong") == 400  # the tenth failure
    assert sign_in(PASSWORD) == 429
