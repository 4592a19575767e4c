"""POST /api/v1/requests/:id/reverify refusing to re-attach a mismatched proof
(D20, D35): the codes it answers are the ones /docs/requests/ lists for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from payments.chain.verify import Verdict
from payments.models import Chain, PaymentRequest
from payments.proofs.services import proof_attach
from payments.proofs.services.verify import _apply
from tests.payments.api.test_cancel import mismatched
from tests.portal.conftest import chain as chain_fixture  # noqa: F401 (a fixture)

pytestmark = pytest.mark.usefixtures("rates", "chain_fixture")
LOCAL_CHAIN_ID = 31337  # tests.portal.conftest.chain
TX = "0x" + "ab" * 32


def _reverify_section() -> str:
    page = (Path(settings.BASE_DIR) / "docs" / "site" / "requests.md").read_text()
    start = page.index("## Re-check a proof")
    return page[start : page.index("\n## ", start + 1)]


def test_reverify_refusals_are_the_documented_ones(api_test, create, test_merchant):
    # The mismatch frees the hash (D20); another request of the wallet then
    # attaches it, so re-attaching it to the first one is proof_already_used.
    # Then the chain is switched off: the request's own mismatched proof on it
    # is still judged again (D35: the request, or the chain's trouble), here
    # on a node that does not answer: 503 rpc_unavailable, not the 400
    # unsupported_chain it was, which told the partner the chain was never
    # accepted for the request.
    first = create(api_test, test_merchant).json()["request_id"]
    row = proof_attach(
        request=PaymentRequest.objects.get(pk=first),
        chain_id=LOCAL_CHAIN_ID,
        tx_hash=TX,
        source="customer",
    )
    _apply(
        row.pk,
        chain_id=LOCAL_CHAIN_ID,
        tx_hash=TX,
        verdict=Verdict("mismatch", "wrong_recipient"),
        now=timezone.now(),
    )
    second = create(api_test, test_merchant, fiat_amount_int=3000).json()
    proof_attach(
        request=PaymentRequest.objects.get(pk=second["request_id"]),
        chain_id=LOCAL_CHAIN_ID,
        tx_hash=TX,
        source="customer",
    )
    answers = [api_test.post(f"/api/v1/requests/{first}/reverify")]
    Chain.objects.filter(pk=LOCAL_CHAIN_ID).update(enabled=False)
    third = create(api_test, test_merchant, fiat_amount_int=3500).json()
    mismatched(third["request_id"], "underpaid", "0x" + "ee" * 32)
    answers.append(api_test.post(f"/api/v1/requests/{third['request_id']}/reverify"))
    got = [(a.status_code, a.json()["error"]) for a in answers]
    assert got == [(409, "proof_already_used"), (503, "rpc_unavailable")]
    section = _reverify_section()
    for status, code in got:
        assert f"`{status} {code}`" in section, code
    # Nothing moved: the refused request keeps its verdict.
    assert PaymentRequest.objects.get(pk=first).proof_status == "mismatch"
    # The switched-off chain's proof is attached again; its checks carry on.
    assert PaymentRequest.objects.get(pk=third["request_id"]).proof_status == (
        "attached"
    )
