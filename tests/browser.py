"""Headless Debian Chromium for the browser tests (never `playwright install`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# Background networking off: this machine's closed network refuses it anyway.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@contextmanager
def chromium() -> Iterator:
    """A launched browser. Playwright's sync API keeps an event loop on this
    thread, so Django's async guard must be told the test's ORM calls are plain
    synchronous code (the documented switch for this case)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing (scripts/test_tools.sh installs it)", pytrace=False
        )
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=ARGS
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def portal_sign_in(
    page, base: str, email: str, password: str, *, lands: str | None = "/portal/"
) -> None:
    """Sign in on the portal's login form as a person would; with ``lands``,
    the browser must end on that path (the dashboard), else the test fails."""
    from playwright.sync_api import expect

    page.goto(f"{base}/portal/login/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    if lands is not None:
        expect(page).to_have_url(f"{base}{lands}")
