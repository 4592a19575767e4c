"""D17: merchant create answers a retry before its field checks, as requests and
plans do.

Same key + a body that fails a field check → 409 ``idempotency_conflict`` (the
key's merchant was created from a valid body, so this is another body), not
the new body's ``invalid_*``. Without a merchant for the key in this partner
and mode, validation answers as usual. Same key + the same body replays even
if the wallet became a registered chain's USDC contract since.
"""

from __future__ import annotations

import pytest

from merchants.models import Merchant
from payments.models import Chain
from tests.factories import WALLET
from tests.merchants.api.helpers import refusal
from tests.merchants.conftest import new_key

ORIGINAL = {"display_name": "A", "email": "a@example.com", "wallet_address": WALLET}


def _error(response, status):
    return refusal(response, status)["error"]


@pytest.fixture
def key(create) -> str:
    key = new_key()
    assert create({**ORIGINAL, "idempotency_key": key}).status_code == 201
    return key


@pytest.mark.parametrize(
    "changes",
    [
        {"email": "not-an-email"},
        {"country": "XX"},
        {"display_name": 5},
        {"wallet_address": "0x123"},
        {"account_type": "corp"},
        {"display_currency": "XYZ"},
    ],
    ids=repr,
)
def test_same_key_with_an_invalid_changed_field_is_idempotency_conflict(
    create, key, changes
):
    response = create({**ORIGINAL, "idempotency_key": key, **changes})
    assert _error(response, 409) == "idempotency_conflict"
    assert Merchant.objects.count() == 1


def test_an_invalid_body_with_an_unused_key_gets_its_fields_code(create, key, api_test):
    body = {**ORIGINAL, "email": "not-an-email"}
    assert _error(create({**body, "idempotency_key": new_key()}), 400) == (
        "invalid_email"
    )
    # The key is used in live mode only: test mode has no merchant for it.
    assert _error(create({**body, "idempotency_key": key}, client=api_test), 400) == (
        "invalid_email"
    )


def test_a_malformed_key_is_still_invalid_idempotency_key(create, key):
    response = create({**ORIGINAL, "email": "x", "idempotency_key": "short"})
    assert _error(response, 400) == "invalid_idempotency_key"


def test_a_retry_replays_after_the_wallet_became_a_chains_usdc_contract(create, key):
    Chain.objects.create(
        chain_id=777_002, name="Operator chain", usdc_address=WALLET, is_testnet=True
    )
    again = create({**ORIGINAL, "idempotency_key": key})
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    fresh = create({**ORIGINAL, "idempotency_key": new_key()})
    assert _error(fresh, 400) == "invalid_wallet_address"
