"""D3: Django's own request-size refusals answer the envelope, never a 500.

A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB) raises
``RequestDataTooBig``, a query string of more than
``DATA_UPLOAD_MAX_NUMBER_FIELDS`` (1 000) fields ``TooManyFieldsSent``. Both
reached DRF's handler as unknown errors: 500 ``api_error`` with a logged
traceback, on the public schema route without any key.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.foundation.test_json_body import _routes, _snapshot

MANY_FIELDS = "&".join(["a"] * (settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))


@pytest.mark.django_db
def test_too_many_query_fields_on_the_public_schema_is_invalid_request():
    response = Client().get(f"/api/v1/schema?{MANY_FIELDS}")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "path", ["/api/v1/events", "/api/v1/requests", "/api/v1/merchants"]
)
def test_too_many_query_fields_on_a_list_is_invalid_request(api, path):
    response = api.get(f"{path}?{MANY_FIELDS}")
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"


def test_a_body_over_the_upload_limit_is_invalid_body_on_every_json_route(
    api, merchant
):
    body = '{"memo":"' + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + '"}'
    before = _snapshot(merchant)
    for method, path in _routes(merchant):
        response = api.generic(
            method.upper(), path, body, content_type="application/json"
        )
        assert response.status_code == 400, (path, response.content[:200])
        assert response.json()["error"] == "invalid_body", path
    assert _snapshot(merchant) == before
