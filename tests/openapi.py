"""Reading ``/api/v1/schema`` in tests: follow ``$ref``s, compare with real answers."""

from __future__ import annotations

from typing import Any


def schema_document(client) -> dict[str, Any]:
    response = client.get("/api/v1/schema?format=json")
    assert response.status_code == 200
    return response.json()


def resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with ``$ref`` (and a lone ``allOf`` wrapper) followed."""
    while True:
        if "$ref" in node:
            node = doc["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
        elif len(node.get("allOf", [])) == 1:
            node = node["allOf"][0]
        else:
            return node


def response_schema(
    doc: dict[str, Any], path: str, method: str, status: str = "200"
) -> dict[str, Any]:
    response = doc["paths"][path][method]["responses"][status]
    return resolve(doc, response["content"]["application/json"]["schema"])


def list_item_schema(doc: dict[str, Any], path: str) -> dict[str, Any]:
    """The schema of one ``data`` item of the list at ``GET path`` (D2)."""
    page = response_schema(doc, path, "get")
    return resolve(doc, page["properties"]["data"]["items"])


def missing_required(
    doc: dict[str, Any], schema: dict[str, Any], value: Any, where: str = "$"
) -> list[str]:
    """Every field ``schema`` requires that ``value`` lacks, nested ones included."""
    schema = resolve(doc, schema)
    missing: list[str] = []
    if isinstance(value, dict):
        missing += [
            f"{where}.{n}" for n in schema.get("required", []) if n not in value
        ]
        for name, sub in schema.get("properties", {}).items():
            if value.get(name) is not None:
                missing += missing_required(doc, sub, value[name], f"{where}.{name}")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            missing += missing_required(doc, schema["items"], item, f"{where}[{i}]")
    return missing
