"""/docs/events/ names the webhook URL's length limit (D26).

PUT /api/v1/webhooks/endpoint refuses a URL over 2,000 characters with
``invalid_webhook_url`` ("must be a public https:// URL"), which the page's
rules did not mention, so a partner with a long signed URL was left guessing.
"""

from __future__ import annotations

from tests.docs.blocks import PAGES_BY_SLUG, source_text

BASE = "https://127.0.0.1/"


def test_the_documented_url_length_limit_is_the_real_one(api, settings):
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    text = " ".join(source_text(PAGES_BY_SLUG["events"]).split())
    assert "`https://` and at most 2,000 characters long" in text

    def put(length: int):
        url = BASE + "a" * (length - len(BASE))
        return api.put("/api/v1/webhooks/endpoint", {"url": url}, format="json")

    assert put(2000).status_code == 200
    refused = put(2001)
    assert (refused.status_code, refused.json()["error"]) == (
        400,
        "invalid_webhook_url",
    )
