"""One submit per portal form (static/portal/portal.js), in headless Chromium.

A double click on "Create key" could send the POST twice: two live keys were
created and the page showed only the second; the first stayed active with a
secret nobody had seen. Whether a browser sends both depends on the network's
timing, so the guard is checked on the submit events themselves: a window
listener (it runs after portal.js's, which is on the document) counts the
submits portal.js let through, and stops each from leaving the page.
"""

from __future__ import annotations

import pytest

from tests.browser import chromium, portal_sign_in
from tests.factories import PartnerUserFactory, UserFactory
from tests.portal.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COUNT_SUBMITS = """() => {
  window.sent = 0;
  window.addEventListener("submit", (e) => {
    if (!e.defaultPrevented) window.sent += 1;
    e.preventDefault();
  });
}"""
SUBMIT_TWICE = """() => {
  const form = document.querySelector("[data-testid=key-form]");
  form.requestSubmit();
  form.requestSubmit();
  return window.sent;
}"""
BACK_FROM_CACHE = """() => {
  window.dispatchEvent(new PageTransitionEvent("pageshow", { persisted: true }));
  document.querySelector("[data-testid=key-form]").requestSubmit();
  return window.sent;
}"""


@pytest.fixture
def page():
    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        context.close()


def test_a_form_is_sent_once_until_the_page_is_shown_again(live_server, page, partner):
    email = "ops@alice-pay.example"
    PartnerUserFactory(user=UserFactory(username=email, email=email), partner=partner)
    base = live_server.url
    portal_sign_in(page, base, email, PASSWORD)

    page.goto(f"{base}/portal/api-keys/")
    page.fill("input[name=name]", "checkout server")
    page.evaluate(COUNT_SUBMITS)
    assert page.evaluate(SUBMIT_TWICE) == 1
    # Back to the page from the browser's cache: the form can be sent again.
    assert page.evaluate(BACK_FROM_CACHE) == 2
