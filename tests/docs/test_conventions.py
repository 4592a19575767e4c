"""The overview page's conventions (/docs/) hold for the API as served (D3, D35)."""

from __future__ import annotations

import json

import pytest
import yaml

from jopay_project.docs.render import PAGES_BY_SLUG, source_text

pytestmark = pytest.mark.django_db


def test_the_openapi_document_is_yaml_unless_json_is_asked_for(client):
    """/docs/ said only "every answer from /api/v1 is JSON": a partner piping
    ``curl $JOPAY_URL/api/v1/schema`` into a JSON tool got YAML."""
    plain = client.get("/api/v1/schema")
    assert "openapi" in yaml.safe_load(plain.content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(plain.content)
    for answer in (
        client.get("/api/v1/schema", HTTP_ACCEPT="application/json"),
        client.get("/api/v1/schema?format=json"),
    ):
        assert answer.status_code == 200
        assert "openapi" in json.loads(answer.content)

    overview = " ".join(source_text(PAGES_BY_SLUG[""]).split())
    assert "It answers YAML unless you ask for JSON" in overview
    assert "`Accept: application/json` or `?format=json`" in overview
    assert 'curl -s "$JOPAY_URL/api/v1/schema?format=json"' in overview
