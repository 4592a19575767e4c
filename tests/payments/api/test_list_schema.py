"""The OpenAPI document describes request answers as they are (D2, D3).

D2: a list is ``{"ok": true, "data": [...], "has_more", "next_cursor"}`` and its
items carry no ``ok``; a single request answer does. The list items were once
documented with the single-answer schema, so every real list answer broke the
published schema (``ok`` required in each item).
"""

from __future__ import annotations

import pytest

from payments.models import PaymentRequest
from tests.openapi import (
    list_item_schema,
    missing_required,
    response_schema,
    schema_document,
)

pytestmark = pytest.mark.usefixtures("rates")

LIST = "/api/v1/requests"
SINGLE = [
    ("/api/v1/requests/create", "post", "201"),
    ("/api/v1/requests/create", "post", "200"),
    ("/api/v1/requests/{request_id}", "get", "200"),
    ("/api/v1/requests/{request_id}/cancel", "post", "200"),
]


def test_list_items_do_not_require_ok_and_a_real_list_answer_conforms(api, create):
    create(api)
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
def test_single_request_answers_still_require_ok(api, path, method, status):
    doc = schema_document(api)
    assert "ok" in response_schema(doc, path, method, status)["required"]


def test_a_real_single_answer_conforms_and_has_the_list_item_fields(api, create):
    created = create(api).json()
    doc = schema_document(api)
    single = response_schema(doc, "/api/v1/requests/{request_id}", "get")
    fetched = api.get(f"{LIST}/{created['request_id']}").json()
    assert missing_required(doc, single, fetched) == []
    assert missing_required(doc, single, created) == []
    # The single answer is exactly one list item plus ``ok``.
    assert set(single["required"]) == set(list_item_schema(doc, LIST)["required"]) | {
        "ok"
    }


def test_the_status_enum_keeps_its_published_name(api):
    # Shared by the list item and the single answer, the enum is named in
    # settings.ENUM_NAME_OVERRIDES, else it would get a hashed name.
    doc = schema_document(api)
    enum = doc["components"]["schemas"]["PaymentRequestOutputStatusEnum"]
    assert enum["enum"] == PaymentRequest.Status.values
    ref = {"$ref": "#/components/schemas/PaymentRequestOutputStatusEnum"}
    assert list_item_schema(doc, LIST)["properties"]["status"] == ref
    assert (
        response_schema(doc, "/api/v1/requests/{request_id}", "get")["properties"][
            "status"
        ]
        == ref
    )
