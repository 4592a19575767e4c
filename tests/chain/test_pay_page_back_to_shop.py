"""The pay page's "Back to shop" link (D35) never leads where it does not say.

7718138 refused, on create, a ``user:pass@`` before the host
(``https://shop.example@evil.example/`` opens evil.example) and a port outside
1-65535 in ``return_url``. Rows stored before that rule are read, not
rewritten (``return_url_uri``): the API still answers them as stored, but the
pay page and receipt linked them as "Back to shop" for every paying customer.
"""

from __future__ import annotations

import pytest

from tests.portal.conftest import make_verified

pytestmark = pytest.mark.django_db

LEGACY = [
    "https://shop.example@evil.example/thanks",
    "https://shop.example:x@evil.example/",
    "https://shop.example:99999/thanks",
    "https://shop.example:0/",
]


@pytest.mark.parametrize("stored", LEGACY)
def test_a_legacy_return_url_the_create_refuses_is_no_link(client, merchant, stored):
    paid = make_verified(merchant, return_url=stored)
    for suffix in ("", "/receipt"):
        html = client.get(f"/pay/{paid.pk}{suffix}").content.decode()
        assert "Back to shop" not in html
        assert "evil.example" not in html


def test_a_legacy_return_url_still_reads_as_stored_over_the_api(api, merchant):
    # The API answers the partner's own value (D35 reads, never rewrites).
    paid = make_verified(merchant, return_url=LEGACY[0])
    assert api.get(f"/api/v1/requests/{paid.pk}").json()["return_url"] == LEGACY[0]


def test_a_good_return_url_is_still_the_link(client, merchant):
    paid = make_verified(merchant, return_url="https://shop.example:8443/thanks")
    for suffix in ("", "/receipt"):
        html = client.get(f"/pay/{paid.pk}{suffix}").content.decode()
        assert 'href="https://shop.example:8443/thanks"' in html
