"""Where sign-in sends the browser: a portal page, never past it (D35).

``next`` had to start with ``/portal/``, but a browser resolves dot segments
before it follows a redirect: ``/portal/../admin/`` signed the user in and
landed on ``/admin/``, and ``/portal/..//evil.example`` on the path
``//evil.example``. Every spelling of a dot or empty segment now falls back
to the dashboard.
"""

from __future__ import annotations

import pytest

from tests.portal.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client, next_url: str):
    return client.post(
        "/portal/login/",
        {"email": "alice@example.com", "password": PASSWORD, "next": next_url},
    )


@pytest.mark.parametrize(
    "next_url",
    [
        "/portal/../admin/",
        "/portal/..//evil.example",
        "/portal/%2e%2e/%2fevil.example",
        "/portal/%2E%2E/admin/",
        "/portal/./../admin/",
        "/portal/..\\admin/",
        "/portal/..",
        "/portal//evil.example/",
        "//evil.example/portal/",
        "/\\evil.example/portal/",
        "https://evil.example/portal/",
        "/portal/\\\\evil.example",
    ],
)
def test_a_next_that_leaves_the_portal_lands_on_the_dashboard(
    client, alice_user, next_url
):
    response = sign_in(client, next_url)

    assert response.status_code == 302
    assert response["Location"] == "/portal/"


@pytest.mark.parametrize(
    "next_url",
    ["/portal/plans/", "/portal/requests/?status=paid", "/portal/", "/portal/x..y/"],
)
def test_a_next_inside_the_portal_is_followed(client, alice_user, next_url):
    assert sign_in(client, next_url)["Location"] == next_url


def test_a_signed_in_visit_to_the_login_page_follows_the_same_rule(portal):
    response = portal.get("/portal/login/", {"next": "/portal/../admin/"})

    assert response["Location"] == "/portal/"
