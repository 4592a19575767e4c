"""D2/D3: one envelope for every failure, JSON only under /api/v1, request ids."""

import uuid

import pytest
from rest_framework.test import APIClient


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize(
    "path", ["/api/v1/nope", "/api/v1/", "/api/v1", "/api/v1/requests/x/y/z"]
)
def test_unknown_routes_answer_json_not_found(method, path):
    response = getattr(APIClient(), method)(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"] == "not_found"
    # Not an empty ``Allow`` (DRF's default for a view with no methods).
    assert "Allow" not in response


@pytest.mark.parametrize("method", ["head", "options", "trace"])
def test_unknown_routes_are_not_found_for_every_method(api, method):
    response = getattr(api, method)("/api/v1/nope")
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization", [None, "Bearer jo_test_" + "x" * 32, "Basic abc"]
)
def test_unknown_route_without_a_usable_key_is_404_and_counted_per_ip(authorization):
    """D3: nothing to authenticate for; D27: still a counted v1 answer."""
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    first = APIClient().get("/api/v1/nope", **headers)
    second = APIClient().get("/api/v1/other", **headers)
    assert (first.status_code, first.json()["error"]) == (404, "not_found")
    assert first["X-RateLimit-Limit"] == "60"
    remaining = int(first["X-RateLimit-Remaining"])
    assert int(second["X-RateLimit-Remaining"]) == remaining - 1


def test_unknown_route_with_a_key_is_counted_per_key(api):
    first = api.post("/api/v1/requests/x/y/z")
    second = api.get("/api/v1")
    assert (first.status_code, second.status_code) == (404, 404)
    assert first["X-RateLimit-Limit"] == "60"
    assert int(first["X-RateLimit-Reset"]) >= 1
    remaining = int(first["X-RateLimit-Remaining"])
    assert int(second["X-RateLimit-Remaining"]) == remaining - 1
    # Its own counter: the probing did not spend the key's merchants.list calls.
    assert api.get("/api/v1/merchants")["X-RateLimit-Remaining"] == "59"


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/api/v1/nope", {"HTTP_ACCEPT": "text/html"}),
        ("/api/v1/nope%0Ax", {}),  # an encoded newline is still a v1 route
    ],
)
def test_unknown_route_is_a_counted_json_404_whatever_the_path_or_accept(
    api, path, extra
):
    """D3/D27: neither content negotiation nor the route pattern lets an
    unknown v1 route skip its 404 or the counter."""
    response = api.get(path, **extra)
    assert (response.status_code, response.json()["error"]) == (404, "not_found")
    assert response["Content-Type"] == "application/json"
    assert response["X-RateLimit-Limit"] == "60"


@pytest.mark.parametrize(
    "extra", [{"QUERY_STRING": "format=xml"}, {"HTTP_ACCEPT": "application/xml"}]
)
def test_a_known_route_answers_json_and_counts_whatever_format_is_asked(extra):
    """The API speaks JSON only: ``?format=`` or ``Accept`` for anything else
    still goes through auth (401 here, not a 404 or 400) and the counter."""
    response = APIClient().get("/api/v1/merchants", **extra)
    assert (response.status_code, response.json()["error"]) == (401, "unauthorized")
    assert "X-RateLimit-Remaining" in response


def test_wrong_method_is_method_not_allowed(api):
    response = api.delete("/api/v1/merchants")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize("body", ["{not json", "[1,2]", '"text"', "null"])
def test_body_that_is_not_a_json_object_is_invalid_body(api, merchant, body):
    response = api.post(
        "/api/v1/requests/create", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_body"


def test_request_id_is_echoed_when_sane_and_minted_otherwise(api):
    mine = "req-" + uuid.uuid4().hex
    assert api.get("/api/v1/merchants", HTTP_X_REQUEST_ID=mine)["X-Request-Id"] == mine
    minted = api.get("/api/v1/merchants", HTTP_X_REQUEST_ID="bad id\n")["X-Request-Id"]
    assert uuid.UUID(minted)
    # A sane id with a trailing newline ("$" matched before it) was echoed, and
    # setting the header raised: a 500 HTML page from /api/v1 (D2, D3).
    api.raise_request_exception = False
    response = api.get("/api/v1/merchants", HTTP_X_REQUEST_ID="abcdefgh\n")
    assert response.status_code == 200
    assert uuid.UUID(response["X-Request-Id"])


def test_request_id_on_non_api_pages_too(client, db):
    assert client.get("/api/v1/schema")["X-Request-Id"]


def test_unexpected_exception_is_api_error_with_request_id(api, monkeypatch):
    from merchants.api import views

    def boom(*args, **kwargs):
        raise RuntimeError("simulated bug")

    target = next(
        name for name in ("merchant_list", "keyset_page") if hasattr(views, name)
    )
    monkeypatch.setattr(views, target, boom)
    client = api
    client.raise_request_exception = False
    response = client.get("/api/v1/merchants", HTTP_X_REQUEST_ID="trace-12345678")
    assert response.status_code == 500
    assert response.json()["error"] == "api_error"
    assert response.json()["request_id"] == "trace-12345678"
    assert response["Content-Type"].startswith("application/json")


def test_schema_and_reference_page_need_no_key(client, db):
    schema = client.get(
        "/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    assert schema.status_code == 200
    doc = schema.json()
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "/api/v1/requests/create" in doc["paths"]
    assert "X-RateLimit-Limit" not in schema  # D3: the schema is not rate limited
    page = client.get("/docs/api/")
    assert page.status_code == 200
    assert b"/api/v1/schema" in page.content


def test_schema_route_refuses_options_like_every_v1_route(client, db):
    # D3: a method a v1 route does not serve is 405 method_not_allowed. The
    # schema route answered OPTIONS 200 with the view's metadata (a YAML
    # document about drf-spectacular), unlike every other /api/v1 route.
    answer = client.options("/api/v1/schema")

    assert answer.status_code == 405
    assert answer.json()["error"] == "method_not_allowed"
    assert "OPTIONS" not in answer["Allow"]
    assert client.get("/api/v1/schema").status_code == 200
