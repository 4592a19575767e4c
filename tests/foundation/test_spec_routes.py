"""Every v1 route, its scope and its rate limit, as the contract states them.

The table below is written from the contract, not from the code: spec §2.2
(scopes of the documented routes), §7.1 (their limits), D7 (the scope list,
write does not imply read), D27 (FX 20/min, webhook test 5/min, events
60/min), D29 and D35 (the routes JoPay adds and their scopes). A route the
contract gives no limit for has ``None``: its number is the code's choice.
"""

from __future__ import annotations

import uuid

import pytest

from merchants.models import ApiKey
from tests.factories import make_key
from tests.openapi import schema_document

# A window filled call by call must not roll over mid-test (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen_clock")

ANY_ID = str(uuid.uuid4())
PLAN = "/api/v1/recurring/plans/{plan_id}"
# (method, path as the OpenAPI document writes it, scope, per-key limit per minute)
CONTRACT = [
    ("POST", "/api/v1/requests/create", "requests:write", 60),  # §2.2, §7.1
    ("GET", "/api/v1/requests/{request_id}", "requests:read", 60),  # §2.2, §7.1
    ("GET", "/api/v1/requests", "requests:read", 60),  # §2.2, §7.1
    ("POST", "/api/v1/requests/{request_id}/cancel", "requests:write", 60),  # §7.1
    ("POST", "/api/v1/requests/{request_id}/reverify", "requests:write", None),  # D35
    ("POST", "/api/v1/merchants", "merchants:write", 30),  # §2.2, §7.1
    ("GET", "/api/v1/merchants", "merchants:read", 60),  # §2.2, §7.1
    ("GET", "/api/v1/merchants/{merchant_id}", "merchants:read", 60),  # §2.2, §7.1
    ("PATCH", "/api/v1/merchants/{merchant_id}", "merchants:write", None),  # D7, D28
    ("GET", "/api/v1/fx/rates", "fx:read", 20),  # D27, D35
    ("GET", "/api/v1/webhooks/endpoint", None, None),  # D35: any key may read it
    ("PUT", "/api/v1/webhooks/endpoint", "webhooks:write", None),  # D35
    ("POST", "/api/v1/webhooks/test", "webhooks:write", 5),  # D7, D27
    ("GET", "/api/v1/events", "events:read", 60),  # D27, D35
    ("POST", "/api/v1/events/{event_id}/resend", "webhooks:write", None),  # D35
    ("POST", "/api/v1/recurring/plans", "recurring:write", None),  # D7, D29
    ("GET", "/api/v1/recurring/plans", "recurring:read", None),  # D7, D29
    ("GET", "/api/v1/recurring/plans/{plan_id}", "recurring:read", None),  # D7, D29
    *(
        ("POST", f"{PLAN}/{action}", "recurring:write", None)
        for action in ("pause", "resume", "cancel")  # D7, D35
    ),
]
# D7, word for word.
D7_SCOPES = {
    "requests:read",
    "requests:write",
    "merchants:read",
    "merchants:write",
    "recurring:read",
    "recurring:write",
    "webhooks:write",
    "fx:read",
    "events:read",
}


def _path(template: str) -> str:
    for name in ("request_id", "merchant_id", "event_id", "plan_id"):
        template = template.replace("{" + name + "}", ANY_ID)
    return template


def _call(client, method: str, template: str):
    path = _path(template)
    if method == "GET":
        return client.get(path)
    return getattr(client, method.lower())(path, {}, format="json")


def test_the_scopes_keys_take_are_exactly_d7s():
    assert set(ApiKey.Scope.values) == D7_SCOPES


def test_the_served_routes_are_the_contracts_routes(client, db):
    """D3: the OpenAPI document lists the whole v1 surface, and nothing the
    contract does not name (a new route needs its scope and limit here)."""
    doc = schema_document(client)
    served = {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert served == {(method, path) for method, path, _, _ in CONTRACT}


@pytest.mark.parametrize(
    ("method", "template", "scope"),
    [(m, p, s) for m, p, s, _ in CONTRACT if s is not None],
)
def test_every_other_scope_together_is_not_enough(
    partner, client_for, method, template, scope
):
    """§2.2: outside the key's scopes → 403 insufficient_scope + required_scope.
    D7: scopes are independent, so holding all the others (the sibling read or
    write scope included) does not grant this one."""
    client = client_for(partner, scopes=sorted(D7_SCOPES - {scope}))

    response = _call(client, method, template)

    assert response.status_code == 403
    assert response.json() == {
        "ok": False,
        "error": "insufficient_scope",
        "message": response.json()["message"],
        "required_scope": scope,
    }


@pytest.mark.parametrize(
    ("method", "template", "scope"),
    [(m, p, s) for m, p, s, _ in CONTRACT if s is not None],
)
def test_that_one_scope_alone_is_enough(partner, client_for, method, template, scope):
    client = client_for(partner, scopes=[scope])

    response = _call(client, method, template)

    assert response.json().get("error") != "insufficient_scope"


@pytest.mark.parametrize(
    ("method", "template", "limit"),
    [(m, p, n) for m, p, _, n in CONTRACT if n is not None],
)
def test_each_route_has_the_contracts_limit_and_its_own_counter(
    partner, method, template, limit
):
    """§7.1 / D27: the limit per key and endpoint; the call after it is 429
    with Retry-After; every other endpoint's counter for the key is untouched.

    The calls are made with a key without the route's scope: refused calls
    count too (D27), and they touch no data.
    """
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {make_key(partner, scopes=['fx:read'])}"
    )
    if template == "/api/v1/fx/rates":  # the one route that scope opens
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {make_key(partner, scopes=['events:read'])}"
        )
    answers = [_call(client, method, template) for _ in range(limit)]
    assert [a["X-RateLimit-Limit"] for a in answers] == [str(limit)] * limit
    assert answers[-1]["X-RateLimit-Remaining"] == "0"
    assert all(a.status_code != 429 for a in answers)

    over = _call(client, method, template)

    assert over.status_code == 429
    assert over.json()["error"] == "rate_limited"
    assert over["Content-Type"] == "application/json"
    assert over.json()["retry_after"] == int(over["Retry-After"]) >= 1
    for other_method, other, _, other_limit in CONTRACT:
        if (other_method, other) == (method, template) or other_limit is None:
            continue
        first = _call(client, other_method, other)
        assert first.status_code != 429, (other_method, other)
        assert first["X-RateLimit-Remaining"] == str(other_limit - 1)
