"""``/portal/requests/``: filters, keyset pages, mode; detail with the event
timeline; attach (source merchant), re-verify and cancel through the services
(D16–D21, D23, D34, D35)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from payments.models import PaymentRequest
from tests.factories import MerchantFactory
from tests.portal.conftest import make_request, make_verified
from webhooks.models import WebhookEvent
from webhooks.services import event_emit, webhook_endpoint_set

pytestmark = pytest.mark.django_db

PR = PaymentRequest
TX = "0x" + "ab" * 32


def codes(response) -> list[str]:
    """The registry codes of the error messages on a followed response."""
    return [m.extra_tags for m in response.context["messages"] if m.extra_tags]


def refs(response) -> list[str]:
    return [row["pr"].reference for row in response.context["rows"]]


# --- list ----------------------------------------------------------------------------


def test_list_is_newest_first_and_shows_amounts(portal, merchant):
    old = make_request(
        merchant, reference="OLD001", created_at=timezone.now() - timedelta(days=2)
    )
    new = make_request(merchant, reference="NEW001", fiat_int=1999)
    response = portal.get("/portal/requests/")
    assert refs(response) == [new.reference, old.reference]
    assert b"19.99 EUR" in response.content


def test_usdc_is_grouped_for_reading_in_lists_and_exact_on_the_detail(portal, merchant):
    pr = make_request(merchant, fiat_int=300_009_597, usdc_micro=3_261_923_876_146)
    listed = portal.get("/portal/requests/").content.decode()
    assert "3,261,923.876146 USDC" in listed
    assert "3261923.876146" not in listed
    assert "3,261,923.876146 USDC" in portal.get("/portal/").content.decode()
    # The detail shows the exact text the pay page asks the customer to send.
    assert (
        "3261923.876146 USDC"
        in portal.get(f"/portal/requests/{pr.pk}/").content.decode()
    )


def test_list_shows_jpy_without_decimals(portal, partner):
    shop = MerchantFactory(partner=partner, display_currency="JPY")
    make_request(shop, fiat_int=1500, fiat_code="JPY")
    assert b"1,500 JPY" in portal.get("/portal/requests/").content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "paid"}, ["PAID01"]),
        ({"status": "cancelled"}, ["CANC01"]),
        ({"proof_status": "verified"}, ["PAID01"]),
        ({"proof_status": "none"}, ["OPEN02", "CANC01", "OPEN01"]),
    ],
)
def test_filters(portal, merchant, query, expected):
    now = timezone.now()
    make_request(merchant, reference="OPEN01", created_at=now - timedelta(minutes=4))
    make_request(
        merchant,
        reference="CANC01",
        status="cancelled",
        created_at=now - timedelta(minutes=3),
    )
    make_verified(merchant, reference="PAID01", created_at=now - timedelta(minutes=2))
    make_request(merchant, reference="OPEN02", created_at=now - timedelta(minutes=1))
    assert refs(portal.get("/portal/requests/", query)) == expected


def test_merchant_filter(portal, partner, merchant):
    other = MerchantFactory(partner=partner)
    make_request(merchant, reference="MINE01")
    make_request(other, reference="THEM01")
    response = portal.get("/portal/requests/", {"merchant": str(other.pk)})
    assert refs(response) == ["THEM01"]


def test_foreign_merchant_filter_is_refused_not_applied(portal, merchant, bob_merchant):
    make_request(bob_merchant, reference="BOB001")
    make_request(merchant, reference="MINE01")
    response = portal.get("/portal/requests/", {"merchant": str(bob_merchant.pk)})
    assert "BOB001" not in refs(response)
    assert any(m.level_tag == "error" for m in response.context["messages"])


def test_merchant_filter_beyond_the_choice_cap(portal, partner, monkeypatch):
    from payments.portal import views

    monkeypatch.setattr(views, "MERCHANT_CHOICES", 1)
    first = MerchantFactory(partner=partner, business_name="A shop")
    last = MerchantFactory(partner=partner, business_name="Z shop")
    make_request(first, reference="AAA001")
    make_request(last, reference="ZZZ001")
    response = portal.get("/portal/requests/", {"merchant": str(last.pk)})
    assert refs(response) == ["ZZZ001"]
    # Past the cap the filter takes an id (no list of names to draw).
    assert response.context["form"].merchant_by_id
    assert response.context["form"].merchant_name == "Z shop"


def test_date_range_is_inclusive_of_both_days(portal, merchant):
    day = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    make_request(merchant, reference="DAY0", created_at=day - timedelta(days=3))
    make_request(merchant, reference="DAY1", created_at=day - timedelta(days=2))
    make_request(
        merchant,
        reference="DAY2",
        created_at=(day - timedelta(days=1)).replace(hour=23, minute=59),
    )
    make_request(merchant, reference="DAY3", created_at=day)
    query = {
        "created_from": (day - timedelta(days=2)).date().isoformat(),
        "created_to": (day - timedelta(days=1)).date().isoformat(),
    }
    assert refs(portal.get("/portal/requests/", query)) == ["DAY2", "DAY1"]


def test_the_last_date_as_created_to_means_no_upper_bound(portal, merchant):
    """9999-12-31 has no next midnight: it answered 500 (OverflowError)."""
    make_request(merchant, reference="LATEST", created_at=timezone.now())
    response = portal.get("/portal/requests/", {"created_to": "9999-12-31"})
    assert response.status_code == 200
    assert refs(response) == ["LATEST"]


def test_keyset_pages_walk_every_row_once(portal, merchant):
    now = timezone.now()
    made = [
        make_request(
            merchant, reference=f"P{i:05d}", created_at=now - timedelta(seconds=i)
        )
        for i in range(60)
    ]
    seen, cursor, pages = [], None, 0
    while True:
        query = {"status": "requested", **({"cursor": cursor} if cursor else {})}
        response = portal.get("/portal/requests/", query)
        seen += refs(response)
        pages += 1
        page = response.context["page"]
        if not page.has_more:
            break
        cursor = page.next_cursor
        assert f"cursor={cursor}".encode() in response.content
        assert b"status=requested" in response.content  # filters kept across pages
    assert pages == 3
    assert seen == [pr.reference for pr in made]


def test_bad_cursor_starts_over_with_a_message(portal, merchant):
    response = portal.get("/portal/requests/", {"cursor": "!!!"}, follow=True)
    assert response.redirect_chain[-1][0] == "/portal/requests/"
    assert codes(response) == ["invalid_request"]


def test_list_shows_the_current_mode_only(
    portal, portal_test, merchant, test_merchant, bob_merchant
):
    make_request(merchant, reference="LIVE01")
    make_request(test_merchant, reference="TEST01")
    make_request(bob_merchant, reference="BOB001")
    assert refs(portal.get("/portal/requests/")) == ["LIVE01"]
    assert refs(portal_test.get("/portal/requests/")) == ["TEST01"]


# --- detail and timeline -------------------------------------------------------------


def test_detail_shows_events_in_sequence_with_deliveries(portal, partner, merchant):
    pr = make_request(merchant)
    webhook_endpoint_set(partner=partner, url="https://127.0.0.1:9/h", enabled=True)
    with transaction.atomic():
        for kind in (
            "payment.proof_attached",
            "payment.proof_mismatch",
            "payment.proof_attached",
        ):
            event_emit(
                partner=partner, test_mode=False, type=kind, data={}, request_id=pr.pk
            )
    # A newer event of another request must not appear.
    other = make_request(merchant)
    with transaction.atomic():
        event_emit(
            partner=partner,
            test_mode=False,
            type="request.cancelled",
            data={},
            request_id=other.pk,
        )
    response = portal.get(f"/portal/requests/{pr.pk}/")
    events = response.context["events"]
    assert [e.sequence for e in events] == [1, 2, 3]
    assert [e.type for e in events] == [
        "payment.proof_attached",
        "payment.proof_mismatch",
        "payment.proof_attached",
    ]
    assert all(len(e.deliveries.all()) == 1 for e in events)
    assert b"pending" in response.content


def test_detail_shows_the_exact_usdc_amount(portal, merchant):
    pr = make_request(merchant, fiat_int=2500, usdc_micro=27_173_123)
    assert b"27.173123 USDC" in portal.get(f"/portal/requests/{pr.pk}/").content


def test_detail_shows_an_overpayment_the_merchant_must_refund(portal, merchant):
    # D20 accepts more than asked; spec §13.1: the merchant refunds it. The page
    # showed only the requested amount, so nobody knew there was one.
    pr = make_verified(
        merchant,
        usdc_micro=27_173_001,
        overpaid_micro=72_826_999,
        evidence={"value_micro": "100000000", "block_number": 7, "log_index": 0},
    )
    page = portal.get(f"/portal/requests/{pr.pk}/").content.decode()
    assert "100.000000 USDC" in page
    assert "overpaid 72.826999 USDC" in page


def test_detail_without_an_overpayment_says_nothing_of_one(portal, merchant):
    pr = make_verified(merchant, evidence={"value_micro": "27173001"})
    assert (
        b'data-testid="overpaid"'
        not in portal.get(f"/portal/requests/{pr.pk}/").content
    )


def test_detail_shows_the_stored_rate_exactly(portal, merchant):
    pr = make_request(merchant, fx_rate=Decimal("1353.123456789123456789"))
    page = portal.get(f"/portal/requests/{pr.pk}/").content.decode()
    assert "rate 1353.123456789123456789 " in page


# --- cancel ---------------------------------------------------------------------


def test_cancel_calls_the_service_and_writes_the_event(portal, partner, merchant):
    pr = make_request(merchant)
    response = portal.post(f"/portal/requests/{pr.pk}/cancel/", follow=True)
    pr.refresh_from_db()
    assert pr.status == "cancelled"
    assert pr.cancelled_at is not None
    assert (
        WebhookEvent.objects.filter(request_id=pr.pk, type="request.cancelled").count()
        == 1
    )
    assert codes(response) == []
    assert b"is cancelled" in response.content


def test_cancel_of_a_paid_request_shows_the_code(portal, merchant):
    pr = make_verified(merchant)
    response = portal.post(f"/portal/requests/{pr.pk}/cancel/", follow=True)
    assert codes(response) == ["request_not_cancellable"]
    pr.refresh_from_db()
    assert pr.status == "paid"


def test_cancel_twice_is_harmless(portal, merchant):
    pr = make_request(merchant)
    portal.post(f"/portal/requests/{pr.pk}/cancel/")
    response = portal.post(f"/portal/requests/{pr.pk}/cancel/", follow=True)
    assert codes(response) == []
    assert WebhookEvent.objects.filter(request_id=pr.pk).count() == 1


# --- attach and re-verify -------------------------------------------------------


def test_attach_records_a_merchant_proof(portal_test, test_merchant, chain):
    pr = make_request(test_merchant)
    response = portal_test.post(
        f"/portal/requests/{pr.pk}/attach/",
        {"chain_id": str(chain.chain_id), "tx_hash": TX.upper().replace("0X", "0x")},
        follow=True,
    )
    assert codes(response) == []
    pr.refresh_from_db()
    assert pr.proof_status == "attached"
    assert pr.proof_source == "merchant"  # D21
    assert pr.tx_hash == TX
    assert pr.chain_id == chain.chain_id
    assert WebhookEvent.objects.filter(
        request_id=pr.pk, type="payment.proof_attached"
    ).exists()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"chain_id": "31337", "tx_hash": "0x1234"}, "invalid_tx_hash"),
        ({"chain_id": "31337", "tx_hash": ""}, "invalid_tx_hash"),
        ({"chain_id": "999999", "tx_hash": TX}, "unsupported_chain"),
        ({"chain_id": "", "tx_hash": TX}, "unsupported_chain"),
    ],
)
def test_attach_refusals_show_their_code(portal_test, test_merchant, chain, data, code):
    pr = make_request(test_merchant)
    response = portal_test.post(f"/portal/requests/{pr.pk}/attach/", data, follow=True)
    assert codes(response) == [code]
    pr.refresh_from_db()
    assert pr.proof_status == "none"


def test_attach_on_a_live_request_refuses_a_local_chain(portal, merchant, chain):
    pr = make_request(merchant)
    response = portal.post(
        f"/portal/requests/{pr.pk}/attach/",
        {"chain_id": "31337", "tx_hash": TX},
        follow=True,
    )
    assert codes(response) == ["unsupported_chain"]


def test_attach_of_a_hash_proving_another_request(portal_test, test_merchant, chain):
    first = make_request(test_merchant)
    second = make_request(test_merchant)
    portal_test.post(
        f"/portal/requests/{first.pk}/attach/", {"chain_id": "31337", "tx_hash": TX}
    )
    response = portal_test.post(
        f"/portal/requests/{second.pk}/attach/",
        {"chain_id": "31337", "tx_hash": TX},
        follow=True,
    )
    assert codes(response) == ["proof_already_used"]


def test_attach_from_a_page_read_before_a_customer_pasted_says_a_proof_is_checked(
    portal_test, test_merchant, chain
):
    """Staff opened the page (form offered), the customer pasted a hash, staff
    then sent another: "This request no longer accepts proofs" read as closed
    for good. D16: it takes proofs again once that one is judged; say so, as
    the pay page does."""
    pr = make_request(test_merchant)
    portal_test.get(f"/portal/requests/{pr.pk}/")  # the form, then the paste:
    PR.objects.filter(pk=pr.pk).update(
        proof_status="attached", chain_id=31337, tx_hash="0x" + "cd" * 32
    )
    response = portal_test.post(
        f"/portal/requests/{pr.pk}/attach/",
        {"chain_id": "31337", "tx_hash": TX},
        follow=True,
    )
    assert codes(response) == ["proof_not_accepted"]
    text = " ".join(str(m) for m in response.context["messages"])
    assert "being checked" in text
    assert "no longer accepts" not in text


def test_attach_on_a_cancelled_request_is_not_accepted(
    portal_test, test_merchant, chain
):
    pr = make_request(test_merchant, status="cancelled")
    response = portal_test.post(
        f"/portal/requests/{pr.pk}/attach/",
        {"chain_id": "31337", "tx_hash": TX},
        follow=True,
    )
    assert codes(response) == ["proof_not_accepted"]


def test_reverify_with_the_node_down_keeps_the_proof_attached(
    portal_test, test_merchant, chain
):
    """D20: RPC trouble never turns into a mismatch; the code is shown."""
    pr = make_request(test_merchant)
    portal_test.post(
        f"/portal/requests/{pr.pk}/attach/", {"chain_id": "31337", "tx_hash": TX}
    )
    response = portal_test.post(f"/portal/requests/{pr.pk}/reverify/", follow=True)
    assert codes(response) == ["rpc_unavailable"]
    pr.refresh_from_db()
    assert pr.proof_status == "attached"


def test_reverify_without_a_proof_changes_nothing(portal, merchant):
    pr = make_request(merchant)
    response = portal.post(f"/portal/requests/{pr.pk}/reverify/", follow=True)
    assert codes(response) == []
    assert b"proof is none" in response.content


@pytest.mark.parametrize("key", ["items", "keys", "values"])
def test_detail_shows_metadata_whose_keys_are_named_like_dict_methods(
    portal, merchant, key
):
    # The API accepts any string keys; a template's `metadata.items` read the
    # partner's own key "items" instead (a 500 for {"items": "3 shirts"}).
    pr = make_request(merchant, metadata={key: "3 shirts", "order_id": "A-1"})
    response = portal.get(f"/portal/requests/{pr.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "order_id: A-1" in html
    assert f"{key}: 3 shirts" in html


def test_detail_says_why_a_proof_did_not_match_in_words(portal, merchant):
    pr = make_request(
        merchant,
        proof_status="mismatch",
        mismatch_reason="underpaid",
        tx_hash="0x" + "cd" * 32,
        chain_id=84532,
        proof_source=None,
    )
    html = portal.get(f"/portal/requests/{pr.pk}/").content.decode()
    assert "The amount was lower than requested" in html
    assert "underpaid" in html  # the code too, as webhooks and the API carry it
    assert "<dd>None</dd>" not in html  # no proof source recorded: a dash


ATTACH_FORM = 'class="attach"'


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        # A proof is being checked: any other hash is proof_not_accepted (D16).
        (
            {"proof_status": "attached", "chain_id": 31337, "tx_hash": TX},
            "being checked",
        ),
        # Past expires_at + the 10 min grace (D16, D20): nothing is accepted.
        ({"status": "expired", "expires_in": timedelta(minutes=-11)}, "until"),
    ],
)
def test_the_attach_form_is_not_offered_where_every_attach_is_refused(
    portal_test, test_merchant, chain, fields, says
):
    """The form was shown beside a proof being checked and after the proof
    window closed, so staff pasting the right hash got "This request no longer
    accepts proofs" (proof_not_accepted) with no word on why or when."""
    expires_in = fields.pop("expires_in", timedelta(hours=1))
    pr = make_request(test_merchant, expires_at=timezone.now() + expires_in, **fields)
    html = portal_test.get(f"/portal/requests/{pr.pk}/").content.decode()
    assert ATTACH_FORM not in html
    assert says in html


def test_the_attach_form_is_offered_while_proofs_are_accepted(
    portal_test, test_merchant, chain
):
    open_request = make_request(test_merchant)
    in_grace = make_request(
        test_merchant,
        status="expired",
        expires_at=timezone.now() - timedelta(minutes=5),
    )
    mismatched = make_request(
        test_merchant, proof_status="mismatch", chain_id=31337, tx_hash=TX
    )
    for pr in (open_request, in_grace, mismatched):
        html = portal_test.get(f"/portal/requests/{pr.pk}/").content.decode()
        assert ATTACH_FORM in html, pr.status


def test_a_range_ending_before_it_starts_says_so(portal, merchant):
    """From 2026-03-10 to 2026-03-01 matched nothing and said "No payment
    requests match these filters": read as "no payments in those days"."""
    make_request(merchant, reference="ANY001")
    response = portal.get(
        "/portal/requests/", {"created_from": "2026-03-10", "created_to": "2026-03-01"}
    )
    form = response.context["form"]
    assert "created_to" in form.errors
    assert "No payment requests match" not in response.content.decode()
    assert any("not valid" in str(m) for m in response.context["messages"])
