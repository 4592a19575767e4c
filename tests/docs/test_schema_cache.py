"""/api/v1/schema is built once per process and format (D3: no key, no limit).

Built per request it cost 40–90 ms of CPU, open to anyone: a few dozen
requests a second kept every web worker busy.
"""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from jopay_project.views import ApiSchemaView

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    ApiSchemaView.cache_clear()
    yield
    ApiSchemaView.cache_clear()


def test_the_document_is_built_once_per_format(client, monkeypatch):
    builds = []
    real = SchemaGenerator.get_schema

    def counted(self, *args, **kwargs):
        builds.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counted)
    first = client.get("/api/v1/schema")
    again = client.get("/api/v1/schema")
    as_json = client.get("/api/v1/schema?format=json")
    client.get("/api/v1/schema?format=json")

    assert len(builds) == 2  # one YAML, one JSON
    assert first.status_code == again.status_code == as_json.status_code == 200
    assert first.content == again.content
    assert first["Content-Type"] == "application/vnd.oai.openapi; charset=utf-8"
    assert as_json["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert as_json.json()["info"]["title"] == "JoPay partner API"


def test_a_callers_version_or_language_never_reaches_the_shared_document(client):
    poisoned = client.get("/api/v1/schema?format=json&version=<script>evil&lang=de")
    assert poisoned.status_code == 200
    assert b"evil" not in poisoned.content
    assert poisoned.json()["info"]["version"] == "1.0.0"
    assert b"evil" not in client.get("/api/v1/schema?format=json").content


def test_accept_parameters_neither_grow_the_cache_nor_change_the_answer(client):
    plain = client.get("/api/v1/schema?format=json")
    for n in range(5):
        accept = f"application/vnd.oai.openapi+json; indent={n}; x={n}"
        answer = client.get("/api/v1/schema", HTTP_ACCEPT=accept)
        assert answer.status_code == 200
        assert answer.content == plain.content
        assert answer["Content-Type"] == plain["Content-Type"]
    assert len(ApiSchemaView._rendered) == 1


def test_each_renderer_keeps_its_own_media_type(client):
    """Two renderers share the format "json" (and two "yaml"): the cache must
    not hand one's Content-Type to the other."""
    vendor_type = "application/vnd.oai.openapi+json"
    vendor = client.get("/api/v1/schema", HTTP_ACCEPT=vendor_type)
    plain = client.get("/api/v1/schema", HTTP_ACCEPT="application/json")
    assert vendor["Content-Type"].startswith(vendor_type)
    assert plain["Content-Type"].startswith("application/json")
