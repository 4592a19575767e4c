"""Every answer carries the security headers a normal one does.

``ApiFallbackMiddleware`` turns what leaks out of ``/api/v1`` (and the pay
page's JSON routes) as HTML into the D2/D3 envelope by building a new
response, outside ``SecurityMiddleware`` and the clickjacking middleware: the
envelope for a crash (500 ``api_error``) or the host check's 400 went out
without ``nosniff``, ``Referrer-Policy``, ``X-Frame-Options`` or HSTS, and so
did the probes' answers, built ahead of every middleware.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.middleware.common import CommonMiddleware
from django.test import Client, override_settings

SECURITY_HEADERS = (
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "X-Frame-Options",
)
UNKNOWN_REQUEST = "/pay/00000000-0000-4000-8000-000000000000/status"


def security_headers(response) -> dict[str, str | None]:
    return {name: response.get(name) for name in SECURITY_HEADERS}


@pytest.fixture
def normal(api):
    """The headers of an ordinary v1 answer: what every other must carry."""
    headers = security_headers(api.get("/api/v1/merchants"))
    assert None not in headers.values(), headers
    return headers


@pytest.fixture
def crashing(monkeypatch):
    """A client whose every call fails inside a middleware (a 500 page that the
    fallback turns into the envelope on JSON routes)."""

    def boom(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(CommonMiddleware, "process_request", boom)
    return Client(raise_request_exception=False)


@pytest.mark.parametrize("path", ["/api/v1/requests", UNKNOWN_REQUEST])
def test_a_crash_turned_into_the_envelope_carries_the_security_headers(
    normal, crashing, path
):
    response = crashing.get(path)
    assert response.status_code == 500
    assert response.json()["error"] == "api_error"
    assert security_headers(response) == normal
    # The pay page's poll is never_cache; its crash envelope must be too.
    assert "no-store" in response["Cache-Control"]


def test_a_crash_page_carries_the_frame_header(crashing):
    response = crashing.get("/portal/login/")
    assert response.status_code == 500
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_an_unknown_host_refused_on_the_api_carries_the_security_headers(normal):
    response = Client().get("/api/v1/requests", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert security_headers(response) == normal


def test_an_oversized_body_refused_carries_the_security_headers(api, normal):
    body = '{"memo":"' + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + '"}'
    response = api.post(
        "/api/v1/requests/create", body, content_type="application/json"
    )
    assert response.json()["error"] == "invalid_body"
    assert security_headers(response) == normal


def test_an_undecodable_body_refused_carries_the_security_headers(api, normal):
    response = api.generic(
        "POST",
        "/api/v1/requests/create",
        b'{"memo": "\xff"}',
        content_type="application/json",
    )
    assert response.json()["error"] == "invalid_body"
    assert security_headers(response) == normal


def test_an_unknown_api_route_carries_the_security_headers(api, normal):
    response = api.get("/api/v1/no-such-route")
    assert response.status_code == 404
    assert security_headers(response) == normal


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_the_probes_carry_the_security_headers(normal, path):
    response = Client().get(path)
    assert response.status_code == 200
    assert security_headers(response) == normal


@override_settings(SECURE_HSTS_SECONDS=31536000)
def test_the_envelope_for_a_refused_host_over_https_carries_hsts(db):
    response = Client().get("/api/v1/requests", HTTP_HOST="evil.example", secure=True)
    assert response.status_code == 400
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
