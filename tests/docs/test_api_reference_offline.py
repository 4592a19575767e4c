"""The API reference at /docs/api/ sends nothing to a third-party host (D3).

The template drops drf-spectacular's Google Fonts links so that a reader's
address is not sent to another host, but Redoc's sidebar footer still loaded
its logo from https://cdn.redoc.ly (the page's img-src allowed any https:
host). The page's policy now allows same-origin and data: images only; Redoc
drops the image when it cannot load and keeps the "API docs by Redocly" text.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser import chromium

pytestmark = [pytest.mark.browser]


@pytest.mark.django_db(transaction=True)
def test_the_api_reference_requests_nothing_from_another_host(live_server):
    own = urlsplit(live_server.url).netloc
    sent: list[str] = []

    def record(request) -> None:
        url = urlsplit(request.url)
        if url.scheme in ("http", "https") and url.netloc != own:
            sent.append(request.url)

    def forget_blocked(request) -> None:
        # Refused by the page's policy (Playwright's failure text is "csp"):
        # the browser never sent it.
        if request.failure == "csp" and request.url in sent:
            sent.remove(request.url)

    with chromium() as browser:
        page = browser.new_page()
        page.on("request", record)
        page.on("requestfailed", forget_blocked)
        page.goto(f"{live_server.url}/docs/api/")
        expect(page.locator("redoc")).to_contain_text(
            "JoPay partner API", timeout=15_000
        )
        expect(page.locator("redoc")).to_contain_text("API docs by Redocly")
        page.wait_for_timeout(500)  # the footer's image is asked for after render

    assert sent == []
