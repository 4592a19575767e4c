"""The OpenAPI document speaks to partners: each operation names its scope,
its rate limit and its section of the docs, and nothing in it is internal
text (decision numbers, the views' reStructuredText docstrings)."""

from __future__ import annotations

import re

import pytest

from jopay_project.docs.endpoints import find_operation, rate_text
from jopay_project.docs.render import PAGES_BY_SLUG, render_page
from tests.openapi import schema_document

pytestmark = pytest.mark.django_db

METHODS = {"get", "post", "put", "patch", "delete"}
LINK = re.compile(
    r"Reference: \[(?P<title>[^\]]+)\]\(/docs/(?P<slug>[\w-]*)/?#(?P<anchor>[\w-]+)\)$"
)


def _operations(doc):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _texts(node, where="$"):
    """Every description, summary and help text in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "summary") and isinstance(value, str):
                yield f"{where}.{key}", value
            else:
                yield from _texts(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _texts(value, f"{where}[{index}]")


def test_every_operation_links_to_its_docs_section(client):
    doc = schema_document(client)
    checked = 0
    for path, method, operation in _operations(doc):
        match = LINK.search(operation.get("description", ""))
        assert match, f"{method.upper()} {path}: no docs link"
        page = render_page(PAGES_BY_SLUG[match["slug"]])
        anchors = {entry.id: entry.name for entry in page.toc}
        assert match["anchor"] in anchors, f"{method.upper()} {path}"
        # The section is the one whose endpoint header names this operation.
        section = page.html.split(f'id="{match["anchor"]}"', 1)[1]
        section = re.split(r"<h[23] ", section, maxsplit=1)[0]
        docs_path = re.sub(r"\{\w+\}", ":id", path)
        assert f"<code>{docs_path}</code>" in section, f"{method.upper()} {path}"
        checked += 1
    assert checked >= 20


def test_every_operation_states_the_scope_and_limit_its_view_enforces(client):
    doc = schema_document(client)
    stated = {
        ("post", "/api/v1/requests/create"): "Scope `requests:write`. "
        "Rate limit: 60 per minute per API key.",
        ("post", "/api/v1/merchants"): "Rate limit: 30 per minute per API key.",
        ("get", "/api/v1/fx/rates"): "Rate limit: 20 per minute per API key.",
        ("post", "/api/v1/webhooks/test"): "Rate limit: 5 per minute per API key.",
    }
    for (method, path), text in stated.items():
        assert text in doc["paths"][path][method]["description"], (method, path)
    for path, method, operation in _operations(doc):
        found = find_operation(method, path)
        assert found is not None
        scope = f"Scope `{found.scope}`." if found.scope else "Any key (no scope)."
        assert scope in operation["description"], f"{method.upper()} {path}"
        # The limit was checked on the create route only: any other operation
        # could state another route's limit (or none) and this passed.
        limit = found.limit
        rate = f"{rate_text(limit.rate)} per {limit.per}" if limit else "none"
        assert f"Rate limit: {rate}." in operation["description"], (
            f"{method.upper()} {path}"
        )


def test_no_internal_text_reaches_the_document(client):
    doc = schema_document(client)
    leaks = [
        (where, text)
        for where, text in _texts(doc)
        # Decision numbers (D17) and reStructuredText literals (``x``) are
        # written for JoPay's developers, in docstrings and help texts.
        if re.search(r"\bD\d{1,2}\b", text) or "``" in text
    ]
    assert leaks == []


def test_an_explicit_description_is_kept_before_the_reference(client):
    doc = schema_document(client)
    fx = doc["paths"]["/api/v1/fx/rates"]["get"]["description"]
    assert fx.startswith("One page holding every enabled currency")
    assert fx.endswith(
        "Reference: [Read the current rates](/docs/fx/#read-the-current-rates)"
    )
