"""List filters and enums: the contract's value sets, the OpenAPI document's,
and what the API really takes, are one and the same.

The sets are written from the contract: request ``status`` and
``proof_status`` (D16), plan statuses (D29), event types (D23), and paging
``limit`` 1 … 100 (D18, D34) on every list.
"""

from __future__ import annotations

import pytest

from tests.openapi import resolve, schema_document

D16_STATUS = {"requested", "opened", "expired", "cancelled", "paid"}
D16_PROOF_STATUS = {"none", "attached", "verified", "mismatch"}
D29_PLAN_STATUS = {"active", "paused", "cancelled", "completed"}
D23_EVENT_TYPES = {
    "payment.proof_attached",
    "payment.proof_verified",
    "payment.proof_mismatch",
    "request.expired",
    "request.cancelled",
    "recurring.charge_created",
    "webhook.test",
}
# (list path, query parameter, the contract's values)
FILTERS = [
    ("/api/v1/requests", "status", D16_STATUS),
    ("/api/v1/requests", "proof_status", D16_PROOF_STATUS),
    ("/api/v1/recurring/plans", "status", D29_PLAN_STATUS),
    ("/api/v1/events", "type", D23_EVENT_TYPES),
    ("/api/v1/merchants", "onboarding_status", {"incomplete", "complete"}),  # D28
]
LISTS = [
    "/api/v1/requests",
    "/api/v1/merchants",
    "/api/v1/recurring/plans",
    "/api/v1/events",
]


@pytest.fixture
def doc(client, db):
    return schema_document(client)


def parameter(doc, path: str, name: str) -> dict:
    found = [p for p in doc["paths"][path]["get"]["parameters"] if p["name"] == name]
    assert len(found) == 1, (path, name)
    return found[0]


@pytest.mark.parametrize(("path", "name", "values"), FILTERS)
def test_each_filter_is_documented_with_the_contracts_values(doc, path, name, values):
    schema = resolve(doc, parameter(doc, path, name)["schema"])
    assert set(schema.get("enum", [])) == values


@pytest.mark.parametrize(("path", "name", "values"), FILTERS)
def test_each_filter_takes_every_contract_value_and_nothing_else(
    api, path, name, values
):
    for value in sorted(values):
        response = api.get(path, {name: value})
        assert response.status_code == 200, (value, response.json())
    refused = api.get(path, {name: "nope"})
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_request")
    assert refused.json()["field"] == name


@pytest.mark.parametrize("path", LISTS)
def test_limit_is_documented_as_an_integer_from_1_to_100(doc, path):
    schema = resolve(doc, parameter(doc, path, "limit")["schema"])
    assert (schema["type"], schema["minimum"], schema["maximum"]) == (
        "integer",
        1,
        100,
    )


@pytest.mark.parametrize("path", LISTS)
def test_limit_takes_1_to_100_and_refuses_the_rest(api, path):
    assert api.get(path, {"limit": 1}).status_code == 200
    assert api.get(path, {"limit": 100}).status_code == 200
    for bad in (0, 101):
        refused = api.get(path, {"limit": bad}).json()
        assert (refused["error"], refused["field"]) == ("invalid_request", "limit")


def test_response_enums_are_the_contracts(doc):
    request = resolve(doc, doc["components"]["schemas"]["PaymentRequestOutput"])
    plan = resolve(doc, doc["components"]["schemas"]["PlanOutputDoc"])
    event = resolve(doc, doc["components"]["schemas"]["EventDoc"])

    def enum(schema, field):
        return set(resolve(doc, schema["properties"][field]).get("enum", []))

    assert enum(request, "status") == D16_STATUS
    assert enum(request, "proof_status") == D16_PROOF_STATUS
    assert enum(plan, "status") == D29_PLAN_STATUS
    assert enum(event, "type") == D23_EVENT_TYPES


def test_every_id_in_a_path_is_documented_as_a_uuid(doc):
    # Request, merchant, plan and event ids are UUIDs (the list items' ids);
    # generated clients typed the path ones as bare strings.
    found = []
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            for p in (
                operation.get("parameters", []) if isinstance(operation, dict) else []
            ):
                if p["in"] == "path":
                    found.append((path, p["name"], p["schema"]))
    assert {name for _, name, _ in found} == {
        "request_id",
        "merchant_id",
        "plan_id",
        "event_id",
    }
    for path, name, schema in found:
        assert schema == {"type": "string", "format": "uuid"}, (path, name)
