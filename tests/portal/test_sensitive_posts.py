"""Sign-in secrets never reach an error report.

Django's own login view marks its password field sensitive; the portal's
sign-in did not, so a failure while signing in (a database gone away) put the
password, or the SSO ID token, in clear into the error report: the debug
page, or any handler that reports the request's POST (Django's
``SafeExceptionReporterFilter``). The password change already hid its three.
"""

from __future__ import annotations

import pytest
from django.views.debug import SafeExceptionReporterFilter

pytestmark = pytest.mark.django_db

SECRET = "a-password-nobody-may-read"


def _boom(*args, **kwargs):
    raise RuntimeError("the database went away")


def _reported(response) -> dict:
    return SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)


def test_the_login_password_is_hidden_from_error_reports(client, monkeypatch):
    monkeypatch.setattr("merchants.portal.auth.authenticate", _boom)
    client.raise_request_exception = False
    response = client.post(
        "/portal/login/", {"email": "alice@example.com", "password": SECRET}
    )
    assert response.status_code == 500
    reported = _reported(response)
    assert reported["password"] != SECRET
    assert reported["email"] == "alice@example.com"  # who, for the report


def test_the_id_token_is_hidden_from_error_reports(client, monkeypatch, settings):
    settings.JOPAY_OIDC_ISSUER = "https://idp.example"
    settings.JOPAY_OIDC_AUDIENCE = "jopay"
    settings.JOPAY_OIDC_JWKS_URL = "https://idp.example/jwks"
    monkeypatch.setattr("merchants.sso.sso_authenticate", _boom)
    client.raise_request_exception = False
    response = client.post("/portal/login/id-token", {"id_token": SECRET})
    assert response.status_code == 500
    assert _reported(response)["id_token"] != SECRET
