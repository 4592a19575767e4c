"""Authentication when the database does not answer: one attempt, not two.

``ApiView.initial`` counts the call (D27) in a ``finally`` after
authenticating, reading ``request.auth``. When authentication had raised a
database error (not an ``APIException``), DRF had recorded no result, so
``request.auth`` authenticated again: a second query, and with a hung server a
second full ``connect_timeout`` (each call held its gunicorn worker 2 x
JOPAY_DB_CONNECT_TIMEOUT; tests/resilience/test_postgres_unreachable.py
measured 6 s for a 3 s timeout).
"""

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient

import merchants.authentication as authentication


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/v1/merchants"), ("post", "/api/v1/requests/create")],
)
def test_a_database_error_while_authenticating_is_tried_once(monkeypatch, method, path):
    calls = []

    def database_down(raw: str):
        calls.append(raw)
        raise OperationalError("connection timeout expired")

    monkeypatch.setattr(authentication, "api_key_authenticate", database_down)
    client = APIClient(HTTP_AUTHORIZATION="Bearer jp_live_" + "a" * 40)
    response = getattr(client, method)(path, {}, format="json")
    assert response.status_code == 500
    assert response.json()["error"] == "api_error"
    assert "request_id" in response.json()
    assert len(calls) == 1
