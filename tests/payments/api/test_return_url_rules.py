"""``return_url`` on create: the "Back to shop" link the customer follows (D11, D35).

RFC 3986 §3.1 and §6.2.2.1: a scheme is case-insensitive, so ``HTTPS://`` is
the https the docs ask for (answered in its normal lower-case form). A link
the pay page shows a paying customer carries no ``user:password@`` (RFC 3986
§3.2.1 deprecates a password in a URI; ``https://shop.example@evil.example/``
reads as the shop but leads elsewhere) and no port outside 1 … 65 535 (RFC 6335:
no browser can open it).
"""

from __future__ import annotations

import pytest

from payments.models import PaymentRequest

pytestmark = pytest.mark.usefixtures("rates")


def _refusal(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]


@pytest.mark.parametrize(
    ("sent", "answered"),
    [
        ("HTTPS://shop.example/ok", "https://shop.example/ok"),
        ("Https://shop.example/ok?a=B#C", "https://shop.example/ok?a=B#C"),
        ("hTtPs://shop.example", "https://shop.example"),
    ],
)
def test_an_upper_case_scheme_is_https(api, create, sent, answered):
    response = create(api, return_url=sent)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["return_url"] == answered
    assert PaymentRequest.objects.get(pk=body["request_id"]).return_url == answered
    read = api.get(f"/api/v1/requests/{body['request_id']}").json()
    assert read["return_url"] == answered


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example:443/ok",
        "https://shop.example:1/ok",
        "https://shop.example:65535/ok",
        "https://[2001:db8::1]:8443/a",
        "https://shop.example/pay@home?by=a@b#x@y",  # "@" after the host is data
    ],
)
def test_a_port_in_range_and_an_at_sign_in_the_path_are_kept(api, create, url):
    response = create(api, return_url=url)
    assert response.status_code == 201, response.json()
    assert response.json()["return_url"] == url


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example:99999/ok",
        "https://shop.example:65536/ok",
        "https://shop.example:0/ok",
        "https://shop.example:00000/ok",
        "https://[2001:db8::1]:70000/a",
        "https://user:pass@shop.example/ok",
        "https://user@shop.example/ok",
        "https://shop.example@evil.example/ok",
        "HTTPS://u:p@shop.example/ok",
    ],
)
def test_a_bad_port_or_userinfo_is_invalid_return_url(api, create, url):
    response = create(api, return_url=url)
    assert _refusal(response) == (400, "invalid_return_url")
    assert not PaymentRequest.objects.exists()


def test_a_replay_of_an_upper_case_scheme_is_the_same_request(api, create):
    sent = {"return_url": "HTTPS://shop.example/ok", "idempotency_key": "r" * 32}
    first = create(api, **sent)
    again = create(api, **sent)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["request_id"] == first.json()["request_id"]
