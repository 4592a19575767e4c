"""Every method a v1 route answers is scoped and counted (D3, D7, D27).

Routes serving two operations keep per-method tables of scopes and rate
groups. HEAD (served by the GET handler) found no entry in them: a key
without ``merchants:read`` read every merchant with HEAD, uncounted.
"""

from __future__ import annotations

import pytest

ROUTES = [
    "/api/v1/merchants",
    "/api/v1/recurring/plans",
    "/api/v1/webhooks/endpoint",
]


@pytest.mark.parametrize("path", ["/api/v1/merchants", "/api/v1/recurring/plans"])
def test_head_needs_the_read_scope(client_for, partner, path):
    narrow = client_for(partner, scopes=["requests:read"])

    answer = narrow.head(path)

    assert answer.status_code == 403
    assert narrow.get(path).status_code == 403


def test_head_is_counted_with_get(api, merchant):
    first = api.get("/api/v1/merchants")
    head = api.head("/api/v1/merchants")
    detail = api.head(f"/api/v1/merchants/{merchant.pk}")

    assert (head.status_code, detail.status_code) == (200, 200)
    assert head["X-RateLimit-Limit"] == "60"
    assert int(head["X-RateLimit-Remaining"]) == int(first["X-RateLimit-Remaining"]) - 1
    assert "X-RateLimit-Remaining" in detail


@pytest.mark.parametrize("path", ROUTES)
def test_a_method_the_route_does_not_serve_is_405_and_counted(api, path):
    answer = api.delete(path)

    assert (answer.status_code, answer.json()["error"]) == (405, "method_not_allowed")
    assert answer["X-RateLimit-Limit"] == "60"


@pytest.mark.parametrize("path", [*ROUTES, "/api/v1/requests"])
def test_options_is_405_not_internal_metadata(api, path):
    answer = api.options(path)

    assert (answer.status_code, answer.json()["error"]) == (405, "method_not_allowed")
    assert "X-RateLimit-Remaining" in answer


def _handled(method: str, path: str, key: str):
    """Through Django's middleware chain as the WSGI handler runs it under
    gunicorn: the test client drops a HEAD body itself, so it cannot see one."""
    from django.core.handlers.base import BaseHandler
    from django.test.client import RequestFactory

    handler = BaseHandler()
    handler.load_middleware()
    request = RequestFactory().generic(method, path, HTTP_AUTHORIZATION=f"Bearer {key}")
    response = handler.get_response(request)
    return str(response.status_code), response, response.content


def test_head_answers_the_gets_headers_without_a_body(api, merchant):
    # RFC 9110: no content in a HEAD answer. Under gunicorn the 3.6 kB list
    # went out after the headers (only Django's dev server drops it).
    key = api.key
    _, get_headers, get_body = _handled("GET", "/api/v1/merchants", key)
    assert get_body
    status, headers, body = _handled("HEAD", "/api/v1/merchants", key)
    assert (status[:3], body) == ("200", b"")
    assert headers["Content-Length"] == str(len(get_body))
    assert headers["Content-Type"] == get_headers["Content-Type"]
    status, _, body = _handled("HEAD", "/api/v1/requests/create", key)
    assert (status[:3], body) == ("405", b"")


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_204_has_no_content_length(api, method):
    status, response, body = _handled(method, "/favicon.ico", api.key)
    assert (status, body) == ("204", b"")
    assert "Content-Length" not in response


def test_allow_does_not_offer_options_which_is_refused(api):
    answer = api.post("/api/v1/merchants/00000000-0000-0000-0000-000000000000")
    assert answer.status_code == 405
    assert "OPTIONS" not in answer["Allow"]
    assert api.options("/api/v1/merchants").status_code == 405
