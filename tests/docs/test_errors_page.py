"""/docs/errors/ tells partners the fix the API's answer needs (D3, D35)."""

from __future__ import annotations

import re

import pytest

from jopay_project.docs.render import PAGES_BY_SLUG, render_page

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_webhook_not_configured_names_switching_delivery_on(api):
    """A partner whose endpoint was switched off (by itself, a 410 or 5 days of
    failures) has a URL: webhook_not_configured is answered all the same, and
    the errors page said only 'Set the webhook URL first'."""
    endpoint = "/api/v1/webhooks/endpoint"
    api.put(endpoint, {"url": "https://localhost/jopay"}, format="json")
    assert api.get(endpoint).json()["url"] == "https://localhost/jopay"
    answer = api.post("/api/v1/webhooks/test")
    assert answer.status_code == 400
    assert answer.json()["error"] == "webhook_not_configured"

    page = _text(render_page(PAGES_BY_SLUG["errors"]).html)
    row = page.split("webhook_not_configured 400", 1)[1][:200]
    assert "switch delivery on if it is off" in row
    kinds = page.split("What to do, by kind", 1)[1]
    assert "or switch delivery on if it is off" in kinds
    assert "Set a webhook URL first for the first one" not in kinds
