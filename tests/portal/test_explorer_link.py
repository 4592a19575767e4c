"""The block explorer link on the receipt and in the portal is an https link.

``Chain.explorer_tx_url`` is a free text field in the admin: a typo'd
``http://`` page, a ``javascript:`` or ``data:`` URL, or a ``user@`` look-alike
was linked as the transaction on every receipt and request page (the wallet's
``blockExplorerUrls`` already took https only: ``add_chain.explorer_origin``).
The Content-Security-Policy stops a ``javascript:`` link from running; the
page should not offer it in the first place.
"""

from __future__ import annotations

import pytest

from tests.factories import PartnerUserFactory
from tests.portal.conftest import logged_in, make_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    from payments.models import Chain

    chain, _ = Chain.objects.update_or_create(
        chain_id=31337,
        defaults={
            "name": "Local",
            "is_local": True,
            "usdc_address": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            "rpc_urls": ["http://127.0.0.1:1"],
            "confirmations": 1,
        },
    )
    return chain


@pytest.fixture
def portal(partner):
    return logged_in(PartnerUserFactory(partner=partner))


BAD = [
    "javascript:alert(document.domain)//{tx}",
    "data:text/html,<b>{tx}</b>",
    "http://scan.example/tx/{tx}",
    "https://scan.example@evil.example/tx/{tx}",
    "//evil.example/tx/{tx}",
    "https://[scan.example/tx/{tx}",  # no URL at all (urlsplit raises)
]


@pytest.mark.parametrize("template", BAD)
def test_a_non_https_explorer_is_no_link(client, portal, chain, merchant, template):
    chain.explorer_tx_url = template
    chain.save()
    paid = make_verified(merchant, chain_id=chain.chain_id)
    pages = (
        client.get(f"/pay/{paid.pk}/receipt"),
        portal.get(f"/portal/requests/{paid.pk}/"),
    )
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert paid.tx_hash in html  # still shown, as text
        assert f">{paid.tx_hash}</a>" not in html


def test_an_https_explorer_is_the_link(client, portal, chain, merchant):
    chain.explorer_tx_url = "https://scan.example/tx/{tx}"
    chain.save()
    paid = make_verified(merchant, chain_id=chain.chain_id)
    link = f'href="https://scan.example/tx/{paid.tx_hash}"'
    assert link in client.get(f"/pay/{paid.pk}/receipt").content.decode()
    assert link in portal.get(f"/portal/requests/{paid.pk}/").content.decode()


def test_an_unreadable_explorer_does_not_break_the_pay_page(client, chain, merchant):
    # With a public RPC URL the open page offers "Add <network>" with the
    # explorer's origin (add_chain.explorer_origin): urlsplit raised on
    # "https://[…", a 500 for every customer paying on that chain.
    from payments.pay.add_chain import add_chain_params

    chain.public_rpc_url = "https://rpc.example.org/public"
    chain.explorer_tx_url = "https://[scan.example/tx/{tx}"
    chain.save()
    params = add_chain_params(chain)
    assert params is not None
    assert "blockExplorerUrls" not in params
