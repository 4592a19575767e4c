"""Documented examples are what the API really answers (D18, D34, D35).

Each documented ``curl`` is parsed and run through the DRF test client
against real rows (ids from the docs swapped for real ones); the documented
response must have exactly the keys of the live one, recursively. Values
differ (ids, times); keys may not.
"""

from __future__ import annotations

import json

import pytest

from .blocks import Curl, key_shape, one_block, parse_curl, value_mismatches

DOC_MERCHANT_ID = "3f6c1b2e-8d4a-4e0b-9c71-2a5d8e4f9b10"
DOC_REQUEST_ID = "8a1e4c77-2b3d-4f6a-9e58-0c7d1b2a3f45"


def example(slug: str, name: str) -> tuple[Curl, dict]:
    request = one_block(slug, data_example=f"{name}:request")
    response = one_block(slug, data_example=f"{name}:response")
    return parse_curl(request.code), json.loads(response.code)


def run(client, curl: Curl, replacements: dict[str, str]):
    """Send the documented call with the test client (same method, path, body)."""
    assert curl.headers.get("authorization") == "Bearer $JOPAY_KEY"
    path, body = curl.path, curl.body
    for doc_value, real in replacements.items():
        path = path.replace(doc_value, real)
        if body is not None:
            body = json.loads(json.dumps(body).replace(doc_value, real))
    if body is not None:
        assert curl.headers.get("content-type") == "application/json"
    call = getattr(client, curl.method.lower())
    return call(path, body, format="json") if body is not None else call(path)


def test_requests_create_example(api, merchant, fx_rates):
    curl, documented = example("requests", "requests.create")
    assert curl.method == "POST"
    assert curl.path == "/api/v1/requests/create"

    response = run(api, curl, {DOC_MERCHANT_ID: str(merchant.pk)})

    assert response.status_code == 201, response.json()
    assert key_shape(documented) == key_shape(response.json())
    assert value_mismatches(documented, response.json()) == []


def test_requests_create_example_replays_with_its_idempotency_key(
    api, merchant, fx_rates
):
    curl, documented = example("requests", "requests.create")
    first = run(api, curl, {DOC_MERCHANT_ID: str(merchant.pk)})

    again = run(api, curl, {DOC_MERCHANT_ID: str(merchant.pk)})

    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["request_id"] == first.json()["request_id"]
    assert key_shape(documented) == key_shape(again.json())


def test_requests_get_example(api, merchant, fx_rates):
    create_curl, _ = example("requests", "requests.create")
    created = run(api, create_curl, {DOC_MERCHANT_ID: str(merchant.pk)}).json()
    curl, documented = example("requests", "requests.get")
    assert curl.method == "GET"

    response = run(api, curl, {DOC_REQUEST_ID: created["request_id"]})

    assert response.status_code == 200, response.json()
    assert response.json()["request_id"] == created["request_id"]
    assert key_shape(documented) == key_shape(response.json())
    assert value_mismatches(documented, response.json()) == []


def test_merchants_create_example(api):
    curl, documented = example("merchants", "merchants.create")
    assert (curl.method, curl.path) == ("POST", "/api/v1/merchants")

    response = run(api, curl, {})

    assert response.status_code == 201, response.json()
    assert key_shape(documented) == key_shape(response.json())
    assert value_mismatches(documented, response.json()) == []
    assert response.json()["onboarding_status"] == documented["onboarding_status"]


def test_merchants_create_with_wallet_has_the_same_keys(api):
    curl, documented = example("merchants", "merchants.create")
    body = {**curl.body, "wallet_address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}
    body.pop("idempotency_key")

    response = api.post(curl.path, body, format="json")

    assert response.status_code == 201
    assert response.json()["onboarding_status"] == "complete"
    assert response.json()["onboarding_url"] is None
    assert key_shape(documented) == key_shape(response.json())


def test_plans_create_example(api, merchant, fx_rates):
    curl, documented = example("recurring", "plans.create")

    response = run(api, curl, {DOC_MERCHANT_ID: str(merchant.pk)})

    assert response.status_code == 201, response.json()
    assert key_shape(documented) == key_shape(response.json())
    assert value_mismatches(documented, response.json()) == []


@pytest.mark.parametrize(
    ("documented", "live", "equal"),
    [
        ({"a": 1, "b": {"c": 2}}, {"b": {"c": 3}, "a": 0}, True),
        ({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"d": 2}}, False),
        ({"a": [{"x": 1}]}, {"a": [{"x": 2}, {"x": 3}]}, True),
        ({"a": 1}, {"a": 1, "extra": 2}, False),
    ],
)
def test_key_shape_compares_keys_not_values(documented, live, equal):
    assert (key_shape(documented) == key_shape(live)) is equal


@pytest.mark.parametrize(
    ("documented", "live", "problems"),
    [
        ({"at": "2026-04-17T17:00:00.000Z"}, {"at": "2026-12-06T09:01:02.345Z"}, 0),
        ({"at": "2026-04-17T17:00:00.000Z"}, {"at": "2026-12-06T09:01:02Z"}, 1),
        ({"usdc_micro": "27173412"}, {"usdc_micro": 27173412}, 1),
        (
            {"id": "8a1e4c77-2b3d-4f6a-9e58-0c7d1b2a3f45"},
            {"id": "8A1E4C77-2B3D-4F6A-9E58-0C7D1B2A3F45"},
            1,
        ),
        ({"n": 1, "x": None}, {"n": True, "x": "set"}, 1),
        ({"a": [{"b": 1}]}, {"a": [{"b": "1"}]}, 1),
        ({"a": [{"b": 1}]}, {"a": []}, 0),
    ],
)
def test_value_mismatches_compares_types_and_formats(documented, live, problems):
    assert len(value_mismatches(documented, live)) == problems


def unknown_keys(documented: dict, live: dict, prefix: str = "") -> list[str]:
    """Keys of ``documented`` (recursively) that the live object does not have."""
    missing = []
    for key, value in documented.items():
        if key not in live:
            missing.append(prefix + key)
        elif isinstance(value, dict) and isinstance(live[key], dict):
            missing += unknown_keys(value, live[key], f"{prefix}{key}.")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            assert live[key], f"no live items to compare {prefix}{key} with"
            missing += unknown_keys(value[0], live[key][0], f"{prefix}{key}[].")
    return missing


def test_shortened_examples_only_use_real_fields(api, merchant, fx_rates):
    from django.utils import timezone

    from recurring.services.charging import plans_charge_due

    from .blocks import page_blocks

    created = run(
        api,
        example("requests", "requests.create")[0],
        {DOC_MERCHANT_ID: str(merchant.pk)},
    ).json()
    shop = run(api, example("merchants", "merchants.create")[0], {}).json()
    plan = run(
        api,
        example("recurring", "plans.create")[0],
        {DOC_MERCHANT_ID: str(merchant.pk)},
    ).json()
    plans_charge_due(now=timezone.now())
    live = {
        "request": created,
        "merchant": shop,
        "plan": api.get(f"/api/v1/recurring/plans/{plan['plan_id']}").json(),
    }
    checked = 0
    for slug in ("requests", "merchants", "recurring"):
        for block in page_blocks(slug):
            if block.lang != "json":
                continue
            doc = json.loads(block.code)
            if not isinstance(doc, dict) or doc.get("ok") is not True:
                continue
            for item in doc.get("data", [doc]):
                kind = (
                    "plan"
                    if "plan_id" in item
                    else "request"
                    if "request_id" in item
                    else "merchant"
                )
                item = {k: v for k, v in item.items() if k != "ok"}
                assert unknown_keys(item, live[kind]) == [], (slug, block.code)
                checked += 1

    assert checked >= 10
