"""A form shown again with errors opens at its first invalid field (``autofocus``),
so on a phone the error is not left below the fold (``jopay_project.forms``)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.portal.test_settings import form_data

pytestmark = pytest.mark.django_db

_TAG = re.compile(r"<(?:input|select|textarea)\b[^>]*>")


def focused(response) -> list[str]:
    """The ``name`` of every control the page asks the browser to focus."""
    names = []
    for tag in _TAG.findall(response.content.decode()):
        if re.search(r"\sautofocus\b", tag):
            names.append(re.search(r'name="([^"]+)"', tag).group(1))
    return names


def test_a_refused_key_expiry_is_focused(portal):
    """The service's refusal (``add_error`` after validation) moves the focus."""
    past = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = portal.post(
        "/portal/api-keys/",
        {"name": "old", "mode": "live", "access": "full", "expires_at": past},
    )
    assert response.status_code == 400
    assert focused(response) == ["expires_at"]


def test_settings_focus_the_field_in_error_not_the_first_field(portal):
    response = portal.post(
        "/portal/settings/", form_data(min_amount="50", max_amount="10")
    )
    assert response.status_code == 400
    assert focused(response) == ["max_amount"]


def test_settings_page_without_errors_focuses_nothing(portal):
    assert focused(portal.get("/portal/settings/")) == []


def test_a_wrong_password_focuses_one_field_only(client, alice_user):
    """Login's e-mail field has a static ``autofocus``; with a form-wide error
    the page still asks for exactly one focus, not two."""
    response = client.post(
        "/portal/login/", {"email": "alice@example.com", "password": "wrong"}
    )
    assert response.status_code == 400
    assert focused(response) == ["email"]
    response = client.post("/portal/login/", {"email": "alice@example.com"})
    assert focused(response) == ["password"]
