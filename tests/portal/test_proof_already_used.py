"""``proof_already_used`` says only that the hash proves another payment (D10, D20).

The D20 index is global (one request per chain and hash, any partner), so a
customer pasting a hash another partner's request holds is refused like one
the same merchant's other request holds. The answers must be the same bytes:
nothing of the holder (its id, reference, status, partner) may reach the
caller, on the pay page (JSON and no-script) or in the portal.
"""

from __future__ import annotations

import pytest

from payments.proofs.services import proof_attach
from tests.factories import MerchantFactory

from .conftest import make_request, make_verified

BOB_HASH = "0x" + "b0" * 32
OWN_HASH = "0x" + "a1" * 32
BROWSER_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def holders(chain, test_merchant, other_partner):
    """Bob's request holds BOB_HASH (being checked); alice's other one OWN_HASH
    (verified): the two states the D20 index covers."""
    bob = make_request(MerchantFactory(partner=other_partner, test_mode=True))
    bob = proof_attach(
        request=bob,
        chain_id=chain.chain_id,
        tx_hash=BOB_HASH,
        source="customer",
        enqueue=False,
    )
    own = make_verified(test_merchant, chain_id=chain.chain_id, tx_hash=OWN_HASH)
    return bob, own


def _leaks(text: str, holder) -> list[str]:
    marks = [
        str(holder.pk),
        str(holder.pk).replace("-", ""),
        holder.reference,
        holder.partner.slug,
        holder.partner.name,
        holder.merchant.name,
    ]  # its status: the answers for two holders in two states are equal bytes
    return [mark for mark in marks if mark and mark in text]


def test_pay_page_answers_are_identical_for_a_foreign_and_an_own_holder(
    client, chain, test_merchant, holders
):
    bob, own = holders
    pr = make_request(test_merchant)
    url = f"/pay/{pr.pk}/proof"
    answers = {
        holder.tx_hash: client.post(
            url,
            {"tx_hash": holder.tx_hash, "chain_id": chain.chain_id},
            content_type="application/json",
        )
        for holder in (bob, own)
    }
    foreign, mine = answers[BOB_HASH], answers[OWN_HASH]
    assert foreign.status_code == mine.status_code == 409
    assert foreign.json()["error"] == "proof_already_used"
    assert foreign.content == mine.content
    assert _leaks(foreign.content.decode(), bob) == []
    assert _leaks(mine.content.decode(), own) == []

    redirects = [
        client.post(
            url,
            {"tx_hash": holder.tx_hash, "chain_id": str(chain.chain_id)},
            HTTP_ACCEPT=BROWSER_ACCEPT,
        )
        for holder in (bob, own)
    ]
    assert {r.status_code for r in redirects} == {303}
    assert redirects[0]["Location"] == redirects[1]["Location"]
    page = client.get(redirects[0]["Location"]).content.decode()
    assert "already paid another request" in page
    assert _leaks(page, bob) == []


def test_portal_attach_refusal_is_identical_for_a_foreign_and_an_own_holder(
    portal_test, chain, test_merchant, holders
):
    bob, own = holders
    pr = make_request(test_merchant)
    shown = []
    for holder in (bob, own):
        response = portal_test.post(
            f"/portal/requests/{pr.pk}/attach/",
            {"chain_id": str(chain.chain_id), "tx_hash": holder.tx_hash},
            follow=True,
        )
        shown.append([str(m) for m in response.context["messages"]])
        assert _leaks(response.content.decode(), bob) == []
    assert shown[0] == shown[1]
    assert "(proof_already_used)" in shown[0][0]
