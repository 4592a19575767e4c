"""POST /api/v1/requests/create: every validation code over HTTP, in order (D4, D11-D15,
D34, D35, errors.md), the success shape (D18) and the USDC amount (D14)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from merchants.models import Merchant
from payments.models import FxRate, PaymentRequest
from payments.services.requests import REFERENCE_ALPHABET
from tests.factories import MerchantFactory

pytestmark = pytest.mark.usefixtures("rates")

D18_FIELDS = {
    "ok",
    "request_id",
    "status",
    "proof_status",
    "pay_page_url",
    "expires_at",
    "created_at",
    "amount",
    "merchant_id",
    "metadata",
    "memo",
    "payment_mode",
    "test_mode",
    "reference",
    "receiving_address",
    "chain_id",
    "tx_hash",
    "payer_address",
    "proof_source",
    "verified_at",
    "cancelled_at",
    "mismatch_reason",
    "return_url",
}


def error(response) -> str:
    return response.json()["error"]


def test_create_returns_201_with_the_d18_shape(api, create, merchant):
    response = create(api, memo="Table 4", metadata={"order": "A-17"})

    assert response.status_code == 201
    body = response.json()
    assert set(body) == D18_FIELDS
    assert body["ok"] is True
    assert body["status"] == "requested"
    assert body["proof_status"] == "none"
    assert body["merchant_id"] == str(merchant.pk)
    assert body["pay_page_url"] == f"http://testserver/pay/{body['request_id']}"
    assert body["amount"]["fiat_int"] == 2500
    assert body["amount"]["fiat_code"] == "EUR"
    assert isinstance(body["amount"]["usdc_micro"], str)
    assert body["metadata"] == {"order": "A-17"}
    assert body["memo"] == "Table 4"
    assert body["payment_mode"] == "pos"
    assert body["test_mode"] is False
    assert body["receiving_address"] == merchant.wallet_address
    for name in (
        "chain_id",
        "tx_hash",
        "payer_address",
        "proof_source",
        "verified_at",
        "cancelled_at",
        "mismatch_reason",
        "return_url",
    ):
        assert body[name] is None, name
    assert body["created_at"].endswith("Z")
    assert len(body["created_at"]) == 24
    assert "Idempotent-Replayed" not in response


def test_reference_is_six_unambiguous_characters(api, create):
    refs = {
        create(api, fiat_amount_int=2500 + i).json()["reference"] for i in range(20)
    }
    assert len(refs) == 20
    for ref in refs:
        assert len(ref) == 6
        assert set(ref) <= set(REFERENCE_ALPHABET)
        assert not set(ref) & set("01OI")


def test_usdc_micro_is_the_floored_conversion_plus_a_tag(api, create):
    # 25.00 EUR at 0.92 EUR/USDC = 27.173913… USDC → base 27 173 000 (D14, D15).
    usdc = int(create(api).json()["amount"]["usdc_micro"])
    assert 27_173_000 <= usdc <= 27_173_999


def test_jpy_has_no_minor_units(api, create, partner):
    # D12/§9.1: JPY exponent 0 → 3000 means ¥3000, = 20 USDC at 150 JPY/USDC.
    jpy_merchant = MerchantFactory(partner=partner, display_currency="JPY")
    body = create(api, jpy_merchant, fiat_amount_int=3000).json()
    assert body["amount"]["fiat_code"] == "JPY"
    assert 20_000_000 <= int(body["amount"]["usdc_micro"]) <= 20_000_999


def test_expiry_defaults_per_mode_and_partner(api, create, partner):
    partner.pos_expiry_seconds = 900
    partner.save()
    pos = create(api).json()
    invoice = create(api, payment_mode="invoice", fiat_amount_int=2600).json()
    row_pos = PaymentRequest.objects.get(pk=pos["request_id"])
    row_inv = PaymentRequest.objects.get(pk=invoice["request_id"])
    assert row_pos.expires_at - row_pos.created_at == timedelta(seconds=900)
    assert row_inv.expires_at - row_inv.created_at == timedelta(seconds=604_800)


def test_explicit_expiry_and_return_url_are_kept(api, create):
    body = create(
        api, expires_in_seconds=120, return_url="https://shop.example/ok"
    ).json()
    row = PaymentRequest.objects.get(pk=body["request_id"])
    assert row.expires_at - row.created_at == timedelta(seconds=120)
    assert body["return_url"] == "https://shop.example/ok"


def test_unknown_fields_are_ignored(api, create):
    assert create(api, colour="blue", nested={"a": [1]}).status_code == 201  # D4


# --- validation codes, one per row, over HTTP ---------------------------------------


@pytest.mark.parametrize("raw", ["", "{bad", "[]", "[1]", '"x"', "null", "42"])
def test_body_not_a_json_object_is_invalid_body(api, raw):
    response = api.post("/api/v1/requests/create", raw, content_type="application/json")
    assert (response.status_code, error(response)) == (400, "invalid_body")


def test_form_body_is_invalid_body(api, merchant):
    response = api.post("/api/v1/requests/create", {"merchant_id": str(merchant.pk)})
    assert error(response) == "invalid_body"


@pytest.mark.parametrize("value", ["", "nope", 42, True, ["x"], "1234-5678"])
def test_merchant_id_not_a_uuid_string_is_invalid_merchant_id(api, create, value):
    response = create(api, merchant_id=value)
    assert (response.status_code, error(response)) == (400, "invalid_merchant_id")


def test_merchant_id_missing_or_null_is_invalid_merchant_id(api):
    for body in (
        {"fiat_amount_int": 2500},
        {"merchant_id": None, "fiat_amount_int": 2500},
    ):
        response = api.post("/api/v1/requests/create", body, format="json")
        assert (response.status_code, error(response)) == (400, "invalid_merchant_id")


def test_foreign_and_other_mode_merchant_is_not_found(
    api, create, other_partner, partner
):
    bob_merchant = MerchantFactory(partner=other_partner)
    alice_test_merchant = MerchantFactory(partner=partner, test_mode=True)
    missing = create(api, merchant_id=str(uuid.uuid4()))
    for other in (bob_merchant, alice_test_merchant):
        response = create(api, other)
        assert (response.status_code, error(response)) == (404, "not_found")
        assert response.content == missing.content  # D10: byte-identical


@pytest.mark.parametrize(
    "value", ["2500", 25.5, 2500.0, True, False, 0, -1, 2_147_483_648, [2500], {"v": 1}]
)
def test_fiat_amount_type_confusion_is_invalid_amount(api, create, value):
    response = create(api, fiat_amount_int=value)
    assert (response.status_code, error(response)) == (400, "invalid_amount")


def test_fiat_amount_null_or_missing_is_invalid_amount(api, merchant):
    for body in (
        {"merchant_id": str(merchant.pk)},
        {"merchant_id": str(merchant.pk), "fiat_amount_int": None},
    ):
        response = api.post("/api/v1/requests/create", body, format="json")
        assert error(response) == "invalid_amount"


def test_fiat_amount_at_int32_max_passes_validation(api, create, partner):
    partner.max_fiat_per_request = None
    partner.save()
    response = create(api, fiat_amount_int=2_147_483_647)
    assert response.status_code == 201


@pytest.mark.parametrize("code", ["XYZ", "eur", "", 978, True, "EURO", "BTC"])
def test_unsupported_currency_code_is_invalid_currency(api, create, code):
    response = create(api, fiat_currency_code=code)
    assert (response.status_code, error(response)) == (400, "invalid_currency")


def test_currency_assertion_that_differs_is_currency_mismatch(api, create):
    response = create(api, fiat_currency_code="USD")
    assert response.status_code == 400
    assert response.json()["error"] == "currency_mismatch"
    assert response.json()["expected_fiat_code"] == "EUR"  # the partner default


def test_currency_assertion_that_matches_passes(api, create):
    assert create(api, fiat_currency_code="EUR").status_code == 201


def test_merchant_display_currency_wins_over_partner_default(api, create, partner):
    gbp = MerchantFactory(partner=partner, display_currency="GBP")
    response = create(api, gbp, fiat_currency_code="EUR")
    assert response.json()["expected_fiat_code"] == "GBP"
    assert (
        create(api, gbp, fiat_currency_code="GBP").json()["amount"]["fiat_code"]
        == "GBP"
    )


def test_display_currency_not_enabled_is_unsupported_currency(api, create, partner):
    chf = MerchantFactory(partner=partner, display_currency="CHF")
    response = create(api, chf)
    assert (response.status_code, error(response)) == (400, "unsupported_currency")


@pytest.mark.parametrize(
    "memo", [42, True, ["a"], {"a": "b"}, "x" * 501, "nul\x00byte"]
)
def test_bad_memo_is_invalid_memo(api, create, memo):
    response = create(api, memo=memo)
    assert (response.status_code, error(response)) == (400, "invalid_memo")


def test_a_memo_with_a_control_character_names_the_ones_it_may_hold(api, create):
    # The message listed line feed and tab only; a CR is kept too (the docs).
    response = create(api, memo="bell\x07")
    assert error(response) == "invalid_memo"
    assert "line breaks (LF, CR) and tab" in response.json()["message"]
    assert create(api, memo="one\r\ntwo\tthree").status_code == 201


def test_memo_of_500_characters_passes(api, create):
    assert create(api, memo="é" * 500).json()["memo"] == "é" * 500


@pytest.mark.parametrize("metadata", ["a=b", ["a"], 3, True])
def test_metadata_not_an_object_is_invalid_request(api, create, metadata):
    response = create(api, metadata=metadata)
    assert error(response) == "invalid_request"
    assert response.json()["field"] == "metadata"


@pytest.mark.parametrize("value", [1, 1.5, True, None, ["x"], {"n": "x"}])
def test_metadata_non_string_value_is_invalid_request(api, create, value):
    response = create(api, metadata={"k": value})
    assert (error(response), response.json().get("field")) == (
        "invalid_request",
        "metadata",
    )


def test_metadata_limits(api, create):
    ok_meta = {f"k{i:02d}": "v" * 500 for i in range(19)}
    ok_meta["k" * 40] = "v"  # 20 keys, one of 40 characters, values of 500
    assert create(api, metadata=ok_meta).status_code == 201

    too_many = {f"k{i}": "v" for i in range(21)}
    assert error(create(api, metadata=too_many)) == "metadata_too_many_keys"
    assert error(create(api, metadata={"k" * 41: "v"})) == "metadata_key_too_long"
    assert error(create(api, metadata={"k": "v" * 501})) == "metadata_value_too_long"


def test_oversized_metadata_writes_nothing(api, create):
    # Refused with its own code (a handled 500 also wrote nothing).
    response = create(api, metadata={f"k{i}": "v" * 500 for i in range(200)})
    assert (response.status_code, error(response)) == (400, "metadata_too_many_keys")
    assert PaymentRequest.objects.count() == 0


@pytest.mark.parametrize("mode", ["POS", "terminal", "", 1, True])
def test_unknown_payment_mode_is_invalid_request(api, create, mode):
    response = create(api, payment_mode=mode)
    assert (error(response), response.json().get("field")) == (
        "invalid_request",
        "payment_mode",
    )


@pytest.mark.parametrize(
    ("mode", "seconds"),
    [
        ("pos", 59),
        ("pos", 86_401),
        ("invoice", 3_599),
        ("invoice", 7_776_001),
        ("pos", "600"),
        ("pos", 600.0),
        ("pos", True),
        ("invoice", -1),
    ],
)
def test_expiry_outside_mode_bounds_is_invalid_expiry(api, create, mode, seconds):
    response = create(api, payment_mode=mode, expires_in_seconds=seconds)
    assert (response.status_code, error(response)) == (400, "invalid_expiry")


@pytest.mark.parametrize(
    ("mode", "seconds"),
    [("pos", 60), ("pos", 86_400), ("invoice", 3_600), ("invoice", 7_776_000)],
)
def test_expiry_bounds_are_inclusive(api, create, mode, seconds):
    assert create(api, payment_mode=mode, expires_in_seconds=seconds).status_code == 201


@pytest.mark.parametrize(
    "url",
    [
        "http://shop.example/ok",
        "ftp://x.example",
        "shop",
        "https://",
        5,
        "https://" + "a" * 2000 + ".example",
        # Not a URI (RFC 3986): the API answers return_url as "format: uri".
        "https://shop.example/\u202e",
        "https://shop.example/caf\u00e9",
        "https://b\u00fccher.example/",
        # ASCII that URLValidator passes but no URI holds.
        "https://shop.example/a<b>",
        'https://shop.example/a"b',
        "https://shop.example/{x}|^`",
        "https://shop.example/a\\b",
        "https://shop.example/100%zz",
        "https://shop.example/#a#b",
        "https://shop.example/a[b]",
    ],
)
def test_bad_return_url_is_invalid_return_url(api, create, url):
    response = create(api, return_url=url)
    assert (response.status_code, error(response)) == (400, "invalid_return_url")


@pytest.mark.parametrize(
    "changes",
    [
        {"onboarding_status": Merchant.OnboardingStatus.INCOMPLETE},
        {"disabled": True},
        {"wallet_address": ""},
        # D28: a zero wallet stored before the validators refused it; nobody
        # could ever pay a request to it.
        {"wallet_address": "0x" + "0" * 40},
    ],
)
def test_merchant_not_ready_is_409(api, create, merchant, changes):
    Merchant.objects.filter(pk=merchant.pk).update(**changes)
    response = create(api)
    assert (response.status_code, error(response)) == (409, "merchant_not_ready")


def test_amount_below_partner_minimum(api, create, partner):
    partner.min_fiat_per_request = 1000
    partner.save()
    assert error(create(api, fiat_amount_int=999)) == "amount_below_minimum"
    assert create(api, fiat_amount_int=1000).status_code == 201


def test_amount_above_partner_maximum(api, create, partner):
    partner.max_fiat_per_request = 50_000
    partner.save()
    assert error(create(api, fiat_amount_int=50_001)) == "amount_exceeds_max"
    assert create(api, fiat_amount_int=50_000).status_code == 201


def test_limits_in_another_currency_compare_through_usdc(api, create, partner):
    # D35: min 10.00 EUR (= 10.869565 USDC at 0.92); a USD merchant's 10.80 USD is
    # 10.80 USDC → below; 10.87 USD is above. Max 100.00 EUR = 108.695652 USDC.
    partner.min_fiat_per_request, partner.max_fiat_per_request = 1000, 10_000
    partner.save()
    usd = MerchantFactory(partner=partner, display_currency="USD")
    assert error(create(api, usd, fiat_amount_int=1080)) == "amount_below_minimum"
    assert create(api, usd, fiat_amount_int=1087).status_code == 201
    assert create(api, usd, fiat_amount_int=10_869).status_code == 201
    assert error(create(api, usd, fiat_amount_int=10_870)) == "amount_exceeds_max"


def test_below_one_thousandth_usdc_is_amount_below_minimum(api, create, partner):
    # D15: ¥1 at 150 JPY/USDC = 6 666 micro-USDC → base 6 000, fine; a rate that
    # makes the base < 1 000 must refuse.
    partner.min_fiat_per_request = 0
    partner.save()
    FxRate.objects.filter(currency="EUR").update(rate=Decimal("20"))
    # 0.01 EUR at 20 EUR/USDC = 500 micro-USDC → base 0.
    assert error(create(api, fiat_amount_int=1)) == "amount_below_minimum"


def test_missing_rate_is_fx_unavailable(api, create):
    FxRate.objects.filter(currency="EUR").delete()
    response = create(api)
    assert (response.status_code, error(response)) == (503, "fx_unavailable")


def test_stale_rate_is_fx_unavailable_but_pinned_never_is(api, create):
    old = timezone.now() - timedelta(hours=24, seconds=1)
    FxRate.objects.filter(currency="EUR").update(fetched_at=old)
    assert error(create(api)) == "fx_unavailable"
    FxRate.objects.filter(currency="EUR").update(pinned=True, source="manual")
    assert create(api).status_code == 201


def test_partner_override_rate_is_used_first(api, create, partner):
    FxRate.objects.create(
        currency="EUR",
        partner=partner,
        rate=Decimal("0.5"),
        source="manual",
        pinned=True,
    )
    usdc = int(create(api).json()["amount"]["usdc_micro"])
    assert 50_000_000 <= usdc <= 50_000_999  # 25.00 EUR at 0.5 EUR/USDC


def test_validation_order_follows_d34(api, create, other_partner, merchant):
    """Several faults at once: the earliest in the documented order wins."""
    bob = MerchantFactory(partner=other_partner)
    assert (
        error(create(api, merchant_id="x", fiat_amount_int="x"))
        == "invalid_merchant_id"
    )
    assert error(create(api, bob, fiat_amount_int="x")) == "not_found"
    assert (
        error(create(api, fiat_amount_int=0, fiat_currency_code="XYZ"))
        == "invalid_amount"
    )
    assert error(create(api, fiat_currency_code="USD", memo=5)) == "currency_mismatch"
    assert error(create(api, memo=5, metadata=[])) == "invalid_memo"
    assert error(create(api, metadata=[], payment_mode="x")) == "invalid_request"
    Merchant.objects.filter(pk=merchant.pk).update(disabled=True)
    assert error(create(api, expires_in_seconds=1)) == "invalid_expiry"
    assert error(create(api, fiat_amount_int=1)) == "merchant_not_ready"


def test_failed_creates_write_no_rows(api, create):
    for bad in (
        {"fiat_amount_int": "1"},
        {"memo": 1},
        {"fiat_currency_code": "USD"},
        {"metadata": {"k": 1}},
        {"payment_mode": "x"},
    ):
        assert create(api, **bad).status_code == 400
    assert PaymentRequest.objects.count() == 0


def test_create_needs_requests_write_scope(client_for, partner, create):
    reader = client_for(partner, scopes=["requests:read"])
    response = create(reader)
    assert (response.status_code, error(response)) == (403, "insufficient_scope")
    assert response.json()["required_scope"] == "requests:write"


def test_test_key_creates_test_mode_requests_for_test_merchants(
    api_test, create, test_merchant
):
    body = create(api_test, test_merchant).json()
    assert body["test_mode"] is True
    assert PaymentRequest.objects.get(pk=body["request_id"]).test_mode is True


def test_a_percent_encoded_or_punycode_return_url_is_kept(api, create):
    url = "https://xn--bcher-kva.example/caf%C3%A9?q=%E2%80%AE"
    body = create(api, return_url=url).json()
    assert body["return_url"] == url
