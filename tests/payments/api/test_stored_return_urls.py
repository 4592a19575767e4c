"""return_url is read as a URI (RFC 3986, the OpenAPI ``format: uri``), whatever
was stored before the write rules (D35 "Back to shop" link).

ec25191 refused non-ASCII return_urls (a Unicode host, a bidi override in the
path) and eeeb3c0 control characters; rows stored before either still broke
every read's documented shape. They are not rewritten: each read converts the
IRI to a URI (IDNA host, percent-encoded UTF-8 elsewhere) and answers null for
one that cannot be (the pay page then shows no "Back to shop" link).
"""

from __future__ import annotations

import re

import pytest

from payments.models import PaymentRequest
from payments.return_urls import return_url_uri
from tests.portal.conftest import make_request, make_verified

# RFC 3986 URI characters: unreserved, reserved and percent-escapes.
_URI = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")

CONVERTED = [
    # what was stored → what a read answers
    ("https://bücher.example/danke", "https://xn--bcher-kva.example/danke"),
    ("https://BÜCHER.example:8443/x", "https://xn--bcher-kva.example:8443/x"),
    ("https://shop.example/\u202etxt.exe", "https://shop.example/%E2%80%AEtxt.exe"),
    (
        "https://shop.example/caf\u00e9?q=\u00e9#s\u00e9",
        "https://shop.example/caf%C3%A9?q=%C3%A9#s%C3%A9",
    ),
    ("https://shop.example/a\x01b", "https://shop.example/a%01b"),
    (
        'https://shop.example/a<b>{c}|d\\e^f`g"h',
        "https://shop.example/a%3Cb%3E%7Bc%7D%7Cd%5Ce%5Ef%60g%22h",
    ),
    ("https://shop.example/100%zz#a#b", "https://shop.example/100%25zz#a%23b"),
    ("https://üser:pä@shop.example/", "https://%C3%BCser:p%C3%A4@shop.example/"),
    ("https://例え.テスト/", "https://xn--r8jz45g.xn--zckzah/"),
]
UNCONVERTIBLE = [
    "https://sh\u202eop.example/",  # a bidi override in the host: no IDNA form
    "https://bü..example/",  # an empty label
    "https://ex ample.example/",
    "javascript:alert(1)",
]
UNCHANGED = [
    "https://shop.example/thanks?order=A-17&x=%C3%A9#top",
    "https://xn--bcher-kva.example/",
    "https://[2001:db8::1]:8443/a",
    "https://shop.example",
    "https://u:p@shop.example/",
]


@pytest.mark.parametrize(("stored", "read"), CONVERTED)
def test_an_iri_reads_as_its_uri(stored, read):
    assert return_url_uri(stored) == read
    assert _URI.fullmatch(read)


@pytest.mark.parametrize("stored", UNCONVERTIBLE)
def test_what_no_uri_can_say_reads_as_null(stored):
    assert return_url_uri(stored) is None


@pytest.mark.parametrize("stored", UNCHANGED)
def test_a_uri_reads_as_stored(stored):
    assert return_url_uri(stored) == stored


def test_empty_reads_as_null():
    assert return_url_uri("") is None


def test_api_reads_of_old_rows_are_uris(api, merchant):
    old = make_request(merchant, return_url="https://bücher.example/\u202edanke")
    bad = make_request(merchant, return_url="https://sh\u202eop.example/")
    want = "https://xn--bcher-kva.example/%E2%80%AEdanke"
    assert api.get(f"/api/v1/requests/{old.pk}").json()["return_url"] == want
    assert api.get(f"/api/v1/requests/{bad.pk}").json()["return_url"] is None
    listed = {r["request_id"]: r for r in api.get("/api/v1/requests").json()["data"]}
    assert listed[str(old.pk)]["return_url"] == want
    assert listed[str(bad.pk)]["return_url"] is None
    cancelled = api.post(f"/api/v1/requests/{old.pk}/cancel").json()
    assert cancelled["return_url"] == want
    # Read, never rewritten.
    stored = PaymentRequest.objects.get(pk=old.pk).return_url
    assert stored == "https://bücher.example/\u202edanke"


def test_pay_page_and_receipt_link_the_uri(client, merchant):
    paid = make_verified(merchant, return_url="https://bücher.example/\u202edanke")
    want = 'href="https://xn--bcher-kva.example/%E2%80%AEdanke"'
    assert want in client.get(f"/pay/{paid.pk}").content.decode()
    assert want in client.get(f"/pay/{paid.pk}/receipt").content.decode()
    bad = make_verified(merchant, return_url="https://sh\u202eop.example/")
    for suffix in ("", "/receipt"):
        assert (
            "Back to shop" not in client.get(f"/pay/{bad.pk}{suffix}").content.decode()
        )
