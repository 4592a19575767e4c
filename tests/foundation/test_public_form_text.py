"""Unreadable form posts to the public pages are a 400, never a 500.

A urlencoded form in another charset made Django's CSRF check raise
``BadRequest``; the 400 and 500 pages check CSRF too and raised again, so the
error escaped the application (gunicorn's bare 500), for anyone, on any page
outside the portal: the pay page, its receipt, onboarding, admin sign-in.
``jopay_project/form_text.py`` refuses such posts at the door everywhere but
the API (which reads only JSON).
"""

from __future__ import annotations

import pytest
from django.test import Client

from merchants.models import Merchant
from merchants.onboarding_links import merchant_onboarding_link
from tests.factories import MerchantFactory
from tests.portal.test_form_text import assert_refused, multipart

pytestmark = pytest.mark.django_db

LATIN_1_FORM = "application/x-www-form-urlencoded; charset=latin-1"


def _stranger() -> Client:
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.cookies["csrftoken"] = "a" * 32  # made up: no page visited
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/pay/b41792f8-6d06-43ef-b83f-b67bff1b8d6c",
        "/pay/2fdfe66c-2ca0-4c26-853f-b80dae7d30bd/receipt",
        "/onboard/" + "A" * 43 + "/",
        "/onboard/done/",
        "/admin/login/",
        "/portal/login/",
    ],
)
def test_a_form_in_another_charset_is_a_400_on_every_page(path):
    response = _stranger().generic("POST", path, b"x=1", content_type=LATIN_1_FORM)
    assert response.status_code == 400
    assert response["X-Request-Id"]  # D2: answered by the application


def test_the_api_keeps_its_own_answer():
    response = _stranger().generic(
        "POST", "/api/v1/merchants", b"x=1", content_type=LATIN_1_FORM
    )
    assert response.status_code == 401  # no key: the API's own JSON error
    assert response.json()["error"] == "unauthorized"


def test_an_onboarding_wallet_with_a_lone_surrogate_is_refused(partner):
    merchant = MerchantFactory(
        partner=partner,
        wallet_address="",
        onboarding_status=Merchant.OnboardingStatus.INCOMPLETE,
    )
    url = merchant_onboarding_link(merchant=merchant).url
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    client = Client(raise_request_exception=False)
    assert client.get(path).status_code == 200
    fields = {"wallet_address": b"\\ud800", "accept_terms": b"on"}
    assert_refused(multipart(client, path, fields))
    merchant.refresh_from_db()
    assert merchant.onboarding_status == Merchant.OnboardingStatus.INCOMPLETE
