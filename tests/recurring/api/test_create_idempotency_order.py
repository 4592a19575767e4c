"""D17: plan create compares the idempotency hash before validating, as requests do.

Same key + a different body → 409 ``idempotency_conflict`` even when the new
body is invalid (another merchant, a bad field); same key + the same body →
the original plan, 200. Without a stored plan for the key, validation answers
as usual. The hash is of the normalised known fields, so omitted and default
values are the same body.
"""

from __future__ import annotations

import uuid

import pytest

from recurring.models import Plan
from tests.factories import MerchantFactory
from tests.recurring.api.test_create import KEY, assert_error, body, post
from tests.recurring.conftest import CUSTOMER, CUSTOMER_EIP55


@pytest.fixture
def original(api, merchant):
    response = post(api, body(merchant, idempotency_key=KEY))
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.parametrize(
    "changes",
    [
        {"frequency": "yearly"},
        {"frequency": ...},
        {"fiat_amount_int": 0},
        {"fiat_amount_int": "2500"},
        {"customer_wallet": "0x123"},
        {"customer_email": "not-an-email"},
        {"metadata": {"k": 1}},
        {"max_charges": 0},
        {"collection": "push"},
        {"chain_id": -1},
        {"merchant_id": "not-a-uuid"},
        {"merchant_id": ...},
    ],
    ids=repr,
)
def test_same_key_with_a_changed_invalid_field_is_idempotency_conflict(
    api, merchant, original, changes
):
    assert_error(
        post(api, body(merchant, idempotency_key=KEY, **changes)),
        "idempotency_conflict",
        status=409,
    )
    assert Plan.objects.count() == 1


def test_same_key_with_an_unknown_or_foreign_merchant_is_idempotency_conflict(
    api, merchant, original, other_partner, test_merchant
):
    foreign = MerchantFactory(partner=other_partner)
    for merchant_id in (uuid.uuid4(), foreign.pk, test_merchant.pk):
        assert_error(
            post(
                api, body(merchant, idempotency_key=KEY, merchant_id=str(merchant_id))
            ),
            "idempotency_conflict",
            status=409,
        )
    assert Plan.objects.count() == 1


def test_requests_answer_the_same_way(api, merchant, eur_rate):
    # The reference behaviour the plan endpoint mirrors.
    url = "/api/v1/requests/create"
    first = api.post(
        url,
        {
            "merchant_id": str(merchant.pk),
            "fiat_amount_int": 2500,
            "idempotency_key": KEY,
        },
        format="json",
    )
    assert first.status_code == 201, first.content
    assert_error(
        api.post(
            url,
            {
                "merchant_id": str(uuid.uuid4()),
                "fiat_amount_int": 0,
                "idempotency_key": KEY,
            },
            format="json",
        ),
        "idempotency_conflict",
        status=409,
    )


def test_same_key_and_same_body_replays_before_validation(api, merchant, original):
    # The merchant was disabled since: still the replay, before any state check.
    merchant.disabled = True
    merchant.save()

    again = post(api, body(merchant, idempotency_key=KEY))

    assert again.status_code == 200, again.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["plan_id"] == original["plan_id"]


@pytest.mark.parametrize(
    "same",
    [
        {"collection": "invoice"},
        {"collection": None},
        {"customer_email": None},
        {"customer_email": ""},
        {"metadata": None},
        {"metadata": {}},
        {"max_charges": None},
        {"chain_id": None},
        {"fiat_currency_code": None},
        {"colour": "red"},
    ],
    ids=repr,
)
def test_omitted_and_default_values_are_the_same_body(api, merchant, original, same):
    again = post(api, body(merchant, idempotency_key=KEY, **same))

    assert again.status_code == 200, again.content
    assert again.json()["plan_id"] == original["plan_id"]


def test_an_upper_case_merchant_id_is_the_same_body(api, merchant, original):
    again = post(
        api, body(merchant, idempotency_key=KEY, merchant_id=str(merchant.pk).upper())
    )

    assert again.status_code == 200, again.content
    assert again.json()["plan_id"] == original["plan_id"]


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {
            "customer_email": "payer@example.com",
            "metadata": {"order": "A-1"},
            "max_charges": 12,
            "collection": "invoice",
            "fiat_currency_code": "EUR",
        },
    ],
    ids=["minimal", "full"],
)
def test_the_raw_body_hash_is_the_hash_the_service_stores(api, merchant, fields):
    # Plans stored before this change keep replaying: the view's hash of the raw
    # body equals the service's hash of the parsed fields.
    from recurring.api.serializers import create_body_hash

    raw = body(merchant, idempotency_key=KEY, **fields)
    created = post(api, raw)
    assert created.status_code == 201, created.content

    stored = Plan.objects.get(pk=created.json()["plan_id"])
    assert stored.idempotency_hash == create_body_hash(raw)


def test_without_a_stored_plan_the_key_does_not_skip_validation(api, merchant):
    assert_error(
        post(api, body(merchant, idempotency_key=KEY, frequency="yearly")),
        "invalid_frequency",
    )
    assert_error(
        post(api, body(merchant, idempotency_key=KEY, merchant_id=str(uuid.uuid4()))),
        "not_found",
        status=404,
    )
    assert not Plan.objects.exists()


def test_another_partners_key_is_not_a_replay(
    api, merchant, original, other_partner, client_for
):
    bob = client_for(other_partner)
    bob_merchant = MerchantFactory(partner=other_partner)
    # Alice's body under Alice's key, sent by Bob: Bob has no plan with this key,
    # so the merchant lookup answers (Alice's merchant is foreign to Bob).
    assert_error(
        post(bob, body(merchant, idempotency_key=KEY)), "not_found", status=404
    )
    created = post(bob, body(bob_merchant, idempotency_key=KEY))
    assert created.status_code == 201
    assert created.json()["plan_id"] != original["plan_id"]


def test_the_stored_hash_is_unchanged_from_before(api, merchant):
    # The field set and normalisation the service hashed before this change,
    # spelled out: plans created then must still replay.
    from merchants.validation import body_hash

    raw = body(
        merchant,
        idempotency_key=KEY,
        customer_email="payer@example.com",
        metadata={"order": "A-1"},
        fiat_currency_code="EUR",
    )
    created = post(api, raw)
    assert created.status_code == 201, created.content

    before = body_hash(
        {
            "merchant_id": str(merchant.pk),
            "fiat_amount_int": 2500,
            "frequency": "monthly",
            "customer_wallet": raw["customer_wallet"],
            "customer_email": "payer@example.com",
            "metadata": {"order": "A-1"},
            "max_charges": None,
            "collection": "invoice",
            "chain_id": None,
            "fiat_currency_code": "EUR",
        }
    )
    assert Plan.objects.get(pk=created.json()["plan_id"]).idempotency_hash == before


@pytest.mark.parametrize(("first", "again"), [("lower", "eip55"), ("eip55", "lower")])
def test_a_retry_spelling_the_same_customer_wallet_in_another_case_replays(
    api, merchant, first, again
):
    """D17: same key, same normalised fields, as for a merchant's wallet. The
    EIP-55 and the lower-case spelling are one address (a client library may
    checksum it between the first try and the retry): the retry replays the
    original plan, spelled as first sent, instead of answering 409."""
    spelling = {"lower": CUSTOMER, "eip55": CUSTOMER_EIP55}
    created = post(
        api, body(merchant, idempotency_key=KEY, customer_wallet=spelling[first])
    )
    assert created.status_code == 201, created.content
    retry = post(
        api, body(merchant, idempotency_key=KEY, customer_wallet=spelling[again])
    )
    assert retry.status_code == 200, retry.content
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == created.json()  # the original, as it was stored
    assert Plan.objects.count() == 1
    # Another address, or the same one with a broken checksum, is another body.
    broken = CUSTOMER_EIP55[:-1] + CUSTOMER_EIP55[-1].swapcase()
    for wallet in ("0x" + "b" * 40, broken, CUSTOMER.replace("0x", "0X")):
        other = post(api, body(merchant, idempotency_key=KEY, customer_wallet=wallet))
        assert_error(other, "idempotency_conflict", status=409)


def test_a_racing_retry_in_another_wallet_case_is_the_originals_replay(merchant):
    """The service's own replay (a retry that lost the INSERT race re-reads
    the original) treats the spelling alike."""
    from recurring.services import plan_create_or_replay

    def create(wallet):
        return plan_create_or_replay(
            partner=merchant.partner,
            test_mode=merchant.test_mode,
            merchant=merchant,
            fiat_amount_int=2500,
            frequency="monthly",
            customer_wallet=wallet,
            idempotency_key=KEY,
        )

    original = create(CUSTOMER)
    retry = create(CUSTOMER_EIP55)
    assert retry.replayed
    assert retry.plan.pk == original.plan.pk
    assert retry.plan.customer_wallet == CUSTOMER
