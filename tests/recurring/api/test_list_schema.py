"""The OpenAPI document describes plan answers as they are (D2, D3, D35).

D2: ``GET /recurring/plans`` is ``{"ok": true, "data": [...], "has_more",
"next_cursor"}`` and its items carry no ``ok``; a single plan answer (create,
GET, pause, resume, cancel) does. The list items were once documented with the
single-answer schema, which required ``ok`` in each item.
"""

from __future__ import annotations

import pytest

from recurring.models import Plan
from tests.openapi import (
    list_item_schema,
    missing_required,
    resolve,
    response_schema,
    schema_document,
)
from tests.recurring.conftest import CUSTOMER

LIST = "/api/v1/recurring/plans"
DETAIL = LIST + "/{plan_id}"
SINGLE = [
    (LIST, "post", "201"),
    (LIST, "post", "200"),
    (DETAIL, "get", "200"),
    (DETAIL + "/pause", "post", "200"),
    (DETAIL + "/resume", "post", "200"),
    (DETAIL + "/cancel", "post", "200"),
]


def test_list_items_do_not_require_ok_and_a_real_list_answer_conforms(api, make_plan):
    make_plan(metadata={"sub": "gold"})
    doc = schema_document(api)
    item = list_item_schema(doc, LIST)
    assert "ok" not in item["required"]
    assert "ok" not in item["properties"]
    assert "ok" in response_schema(doc, LIST, "get")["required"]  # the envelope's

    answer = api.get(LIST).json()
    assert len(answer["data"]) == 1
    assert "ok" not in answer["data"][0]
    assert missing_required(doc, response_schema(doc, LIST, "get"), answer) == []
    assert set(item["required"]) <= set(answer["data"][0])


@pytest.mark.parametrize(("path", "method", "status"), SINGLE)
def test_single_plan_answers_still_require_ok(api, path, method, status):
    doc = schema_document(api)
    assert "ok" in response_schema(doc, path, method, status)["required"]


def test_a_real_single_answer_conforms_and_has_the_list_item_fields(api, make_plan):
    plan = make_plan()
    doc = schema_document(api)
    single = response_schema(doc, DETAIL, "get")
    fetched = api.get(f"{LIST}/{plan.pk}").json()
    paused = api.post(f"{LIST}/{plan.pk}/pause").json()
    assert missing_required(doc, single, fetched) == []
    assert missing_required(doc, single, paused) == []
    # The single answer is exactly one list item plus ``ok``.
    assert set(single["required"]) == set(list_item_schema(doc, LIST)["required"]) | {
        "ok"
    }


def test_the_status_enum_keeps_its_published_name(api):
    # Shared by the list item and the single answer, the enum is named in
    # settings.ENUM_NAME_OVERRIDES, else it would get a hashed name.
    doc = schema_document(api)
    enum = doc["components"]["schemas"]["PlanOutputDocStatusEnum"]
    assert enum["enum"] == Plan.Status.values
    ref = {"$ref": "#/components/schemas/PlanOutputDocStatusEnum"}
    assert list_item_schema(doc, LIST)["properties"]["status"] == ref
    assert response_schema(doc, DETAIL, "get")["properties"]["status"] == ref


def test_the_create_body_bounds_max_charges_as_the_api_does(api, merchant, eur_rate):
    # The schema gave max_charges a minimum and no maximum, while the API
    # answers invalid_request above 2 147 483 647: a client validating with
    # the document sent bodies it admitted and got 400s.
    doc = schema_document(api)
    body_schema = resolve(
        doc,
        doc["paths"][LIST]["post"]["requestBody"]["content"]["application/json"][
            "schema"
        ],
    )
    bounds = body_schema["properties"]["max_charges"]
    assert (bounds["minimum"], bounds["maximum"]) == (1, 2_147_483_647)
    body = {
        "merchant_id": str(merchant.pk),
        "fiat_amount_int": 2500,
        "frequency": "monthly",
        "customer_wallet": CUSTOMER,
    }
    top = api.post(LIST, {**body, "max_charges": bounds["maximum"]}, format="json")
    assert top.status_code == 201, top.content
    over = api.post(LIST, {**body, "max_charges": bounds["maximum"] + 1}, format="json")
    assert (over.status_code, over.json()["field"]) == (400, "max_charges")
