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
