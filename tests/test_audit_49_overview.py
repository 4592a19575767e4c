"""Claims of the overview (/docs/) checked against the API's real answers (D3, D4)."""

from __future__ import annotations

import json

from django.conf import settings

from tests.docs.blocks import PAGES_BY_SLUG, source_text


def overview() -> str:
    return " ".join(source_text(PAGES_BY_SLUG[""]).split())


def test_the_body_size_limit_is_the_one_the_api_applies(api, merchant):
    """A partner sizing bodies by "2.5 MB" (2 500 000 bytes) had a 2.6 MB body
    accepted: the limit is 2 621 440 bytes. The page names the exact figure."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = {"merchant_id": str(merchant.pk), "fiat_amount_int": 2500, "pad": ""}
    body["pad"] = "a" * (limit + 1 - len(json.dumps(body)))
    raw = json.dumps(body)
    assert len(raw) == limit + 1

    response = api.post("/api/v1/requests/create", raw, content_type="application/json")

    assert (response.status_code, response.json()["error"]) == (400, "invalid_body")
    assert f"is larger than {limit:,} bytes" in overview()
