"""The pay page's JSON routes never answer HTML (D32): an unexpected failure
(here the database refusing, as in an outage) is the registry's ``api_error``
with the request id, like ``/api/v1``; a no-script form post still gets a page."""

from __future__ import annotations

import uuid

import pytest
from django.db import OperationalError

from payments.pay import views

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_refuses(monkeypatch, client):
    def refuse(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(views, "find_request", refuse)
    monkeypatch.setattr(views, "proof_attach", refuse, raising=False)
    client.raise_request_exception = False
    return client


def test_the_status_poll_answers_json_when_the_database_fails(database_refuses):
    response = database_refuses.get(
        f"/pay/{uuid.uuid4()}/status", HTTP_X_REQUEST_ID="trace-87654321"
    )
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == "api_error"
    assert body["request_id"] == "trace-87654321"


def test_a_scripted_proof_post_answers_json_a_form_post_a_page(database_refuses):
    url = f"/pay/{uuid.uuid4()}/proof"
    scripted = database_refuses.post(
        url,
        {"tx_hash": "0x" + "ab" * 32, "chain_id": 31337},
        content_type="application/json",
        HTTP_ACCEPT="application/json",
    )
    assert scripted.status_code == 500
    assert scripted.json()["error"] == "api_error"
    form = database_refuses.post(
        url,
        {"tx_hash": "0x" + "ab" * 32, "chain_id": "31337"},
        HTTP_ACCEPT="text/html,application/xhtml+xml",
    )
    assert form.status_code == 500
    assert not form["Content-Type"].startswith("application/json")
