"""Text the pay page shows a customer reads as the partner sent it (D22).

memo (D11) and a merchant's display_name / business_name (D28) are shown on
the hosted pay page and receipt. A bidi embedding, override or isolate
(U+202A-U+202E, U+2066-U+2069) reorders the text around it, so
"Refund to 0x…" could read as something else; a control character is
nothing a customer should see. memo keeps line breaks (LF, CR: a textarea
sends CRLF) and tab (an invoice note's lines, shown as lines); names keep
none. Each is refused with the
field's own code and a message that says why. ``metadata`` is the partner's
own (JSON-escaped, never shown to the customer) and stays free-form.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from merchants.models import Merchant
from payments.models import PaymentRequest
from tests.factories import PartnerUserFactory, UserFactory
from tests.portal.conftest import logged_in

pytestmark = pytest.mark.usefixtures("rates")

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e"]
BIDI += ["\u2066", "\u2067", "\u2068", "\u2069"]
# C0 (but line feed and tab), DEL and C1.
CONTROLS = ["\x00", "\x01", "\x07", "\x1b", "\r", "\x0b", "\x0c", "\x7f", "\x85"]
CONTROLS += ["\x9b"]


def refusal(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()


@pytest.mark.parametrize(
    "char", BIDI + [c for c in CONTROLS if c != "\r"], ids=lambda c: f"U+{ord(c):04X}"
)
def test_memo_with_a_control_or_bidi_character_is_invalid_memo(api, create, char):
    body = refusal(create(api, memo=f"Refund {char}to shop"))
    assert body["error"] == "invalid_memo"
    assert "500" not in body["message"]  # the length was never the problem
    assert "character" in body["message"]
    assert PaymentRequest.objects.count() == 0


def test_memo_takes_the_crlf_line_breaks_a_textarea_sends(api, create, client):
    memo = "Order A-17\r\n2 × coffee\r\n"
    created = create(api, memo=memo)
    assert created.status_code == 201, created.content
    assert created.json()["memo"] == memo


def test_memo_message_for_length_and_type_still_says_500(api, create):
    for memo in ("x" * 501, 42):
        body = refusal(create(api, memo=memo))
        assert body["error"] == "invalid_memo"
        assert "500" in body["message"]


def test_memo_keeps_line_feeds_tabs_and_bidi_marks(api, create, client):
    # LRM/RLM (U+200E/F) are marks for mixed-direction text, not overrides.
    memo = "Order A-17\n\t2 × coffee\nשלום \u200fעולם"
    created = create(api, memo=memo)
    assert created.status_code == 201, created.content
    assert created.json()["memo"] == memo
    page = client.get(f"/pay/{created.json()['request_id']}").content.decode()
    # Shown as lines on the page (static/pay/pay.css: white-space: pre-line).
    assert f'<dd class="pay-memo">{memo}</dd>' in page
    css = (settings.BASE_DIR / "static" / "pay" / "pay.css").read_text()
    assert ".pay-memo { white-space: pre-line; }" in css


@pytest.mark.parametrize("char", BIDI + CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("field", ["display_name", "business_name"])
def test_merchant_name_with_a_control_or_bidi_character_is_refused(
    api, merchant, field, char
):
    value = f"Shop{char}pohS"
    created = api.post(
        "/api/v1/merchants", {field: value, "email": "a@b.example"}, format="json"
    )
    body = refusal(created)
    assert (body["error"], body["field"]) == ("invalid_request", field)
    assert "character" in body["message"]
    updated = api.patch(
        f"/api/v1/merchants/{merchant.pk}", {field: value}, format="json"
    )
    body = refusal(updated)
    assert (body["error"], body["field"]) == ("invalid_request", field)
    merchant.refresh_from_db()
    assert getattr(merchant, field) != value


def test_portal_merchant_name_form_refuses_bidi_too(partner, merchant):
    user = UserFactory(username="alice@example.com", email="alice@example.com")
    portal = logged_in(PartnerUserFactory(user=user, partner=partner))
    before = merchant.display_name
    answer = portal.post(
        f"/portal/merchants/{merchant.pk}/name/",
        {"display_name": "Shop\u202eevil"},
        follow=True,
    )
    assert Merchant.objects.get(pk=merchant.pk).display_name == before
    # The refusal says what is wrong, not "at most 120 characters".
    assert "bidirectional" in answer.content.decode()


def test_metadata_is_left_free_form(api, create):
    # Accepted is not enough: kept as sent, not cleaned up on the way in.
    metadata = {"note": "a\u202eb\x01c", "lines": "x\ty\r\nz"}
    created = create(api, metadata=metadata)
    assert created.status_code == 201, created.content
    assert created.json()["metadata"] == metadata
    stored = PaymentRequest.objects.get(pk=created.json()["request_id"])
    assert stored.metadata == metadata
