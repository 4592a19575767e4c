"""A chunked request body is refused for what it is (D4, D34; errors.md).

Django reads a WSGI request body by its ``Content-Length`` only, so a body
sent with ``Transfer-Encoding: chunked`` (``requests`` with a generator,
Node's ``fetch`` with a stream, ``curl -H "Transfer-Encoding: chunked"``)
reaches the view as nothing. Every v1 JSON route answered it "The body is
empty; send a JSON object." although the caller had sent one: the code
stays ``invalid_body``, and the message now names the real cause.
"""

from __future__ import annotations

import json

import pytest
import requests

from tests.factories import MerchantFactory, make_key
from tests.live import gunicorn

ROUTES = [
    ("post", "/api/v1/requests/create"),
    ("post", "/api/v1/merchants"),
    ("post", "/api/v1/recurring/plans"),
    ("put", "/api/v1/webhooks/endpoint"),
    ("patch", "/api/v1/merchants/{merchant_id}"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_chunked_body_is_named_as_such(api, merchant, method, path):
    response = api.generic(
        method.upper(),
        path.format(merchant_id=merchant.pk),
        b"",  # what Django reads of a chunked body
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
    )

    assert (response.status_code, response.json()["error"]) == (400, "invalid_body")
    assert "chunked" in response.json()["message"].lower()


def test_an_empty_body_is_still_called_empty(api):
    response = api.generic(
        "POST", "/api/v1/merchants", b"", content_type="application/json"
    )

    assert response.json()["error"] == "invalid_body"
    assert "empty" in response.json()["message"]


@pytest.mark.live
def test_a_chunked_body_over_real_http(transactional_db, partner):
    merchant = MerchantFactory(partner=partner)
    headers = {
        "Authorization": f"Bearer {make_key(partner)}",
        "Content-Type": "application/json",
    }
    body = json.dumps({"merchant_id": str(merchant.pk), "fiat_amount_int": 2500})
    with gunicorn(workers=1) as base:
        answer = requests.post(
            f"{base}/api/v1/requests/create",
            data=iter([body.encode()]),  # a generator: requests sends it chunked
            headers=headers,
            timeout=30,
        )

    assert answer.request.headers["Transfer-Encoding"] == "chunked"
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_body")
    assert "chunked" in answer.json()["message"].lower()
