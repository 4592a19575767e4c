"""Buttons keep their shape in the system's forced colours (Windows contrast
themes): the theme replaces every background with one colour, and the
buttons, drawn with no border, were left as bare words among the text."""

from __future__ import annotations

import pytest
from django.utils import timezone

from payments.models import PaymentRequest

from .conftest import CHAIN_ID

pytestmark = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PR = PaymentRequest
EDGE = "e => [getComputedStyle(e).borderTopStyle, getComputedStyle(e).borderTopWidth]"


@pytest.mark.parametrize("context_options", [{"forced_colors": "active"}])
def test_buttons_have_an_edge_in_forced_colours(
    live_server, page, local_chain, make_request
):
    pr = make_request()
    paid = make_request(
        status=PR.Status.PAID,
        proof_status=PR.ProofStatus.VERIFIED,
        chain_id=CHAIN_ID,
        tx_hash="0x" + "0c" * 32,
        verified_at=timezone.now(),
    )
    controls = {
        f"/pay/{pr.pk}": page.get_by_role("button", name="Submit transaction"),
        f"/pay/{paid.pk}": page.get_by_role("link", name="View receipt"),
    }
    for path, control in controls.items():
        page.goto(live_server.url + path)
        assert page.evaluate("matchMedia('(forced-colors: active)').matches")
        style, width = control.evaluate(EDGE)
        assert style not in ("none", "hidden"), (path, style)
        assert width != "0px", (path, width)
