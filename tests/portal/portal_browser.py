"""Fixtures for the portal in a real browser (headless Chromium against
``live_server``): the browser, a desktop page, a member of the partner's staff,
and the sign-in.

A module imports the fixture functions (``browser_fixture`` ...); pytest knows
them by their ``name``: ``browser``, ``page``, ``alice``.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser import chromium, portal_sign_in
from tests.factories import PartnerUserFactory, UserFactory
from tests.portal.conftest import PASSWORD

DESKTOP = {"width": 1280, "height": 860}


@pytest.fixture(scope="module", name="browser")
def browser_fixture():
    with chromium() as launched:
        yield launched


@pytest.fixture(name="page")
def page_fixture(browser):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm prompts
    yield page
    context.close()


@pytest.fixture(name="alice")
def alice_fixture(partner):
    """A member of the partner's staff (alice-pay's ops mailbox)."""
    user = UserFactory(username="ops@alice-pay.example", email="ops@alice-pay.example")
    return PartnerUserFactory(user=user, partner=partner)


def sign_in(page: Page, base: str, email: str) -> None:
    portal_sign_in(page, base, email, PASSWORD)
