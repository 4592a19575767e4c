"""D17 over D28: a retry whose original exists replays, also when the merchant
was disabled (or its wallet moved) between the retry's read and its INSERT.

The create path reads the merchant and the key's request in one statement
(``payment_request_create_context``); a concurrent retry can read both before
the original commits and the merchant is disabled. Its INSERT then finds the
merchant not ready (``_MERCHANT_READY``) before it finds the key taken, as it
finds no free tag before the key (``test_a_retry_after_the_last_tag_was_taken_
replays``). The view's own replay check answers "the original, even if the
merchant was disabled since"; the race must answer the same.
"""

from __future__ import annotations

import pytest

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.tenancy import Tenant
from merchants.models import Merchant
from payments.models import PaymentRequest
from payments.services.requests import PaymentRequestDraft, payment_request_create

pytestmark = pytest.mark.usefixtures("rates")

KEY = "retry-" + "k" * 26


def _create(merchant, *, key=KEY, digest="h" * 64):
    return payment_request_create(
        tenant=Tenant(partner=merchant.partner, test_mode=merchant.test_mode),
        draft=PaymentRequestDraft(
            merchant=merchant,  # as the retry read it: ready
            fiat_int=2500,
            fiat_code="EUR",
            idempotency_key=key,
            idempotency_hash=digest,
        ),
    )


@pytest.mark.parametrize(
    "change",
    [{"disabled": True}, {"wallet_address": "0x" + "ab" * 20}],
)
def test_a_retry_racing_a_disable_replays_the_original(merchant, change):
    original, created = _create(merchant)
    assert created
    Merchant.objects.filter(pk=merchant.pk).update(**change)
    assert _create(merchant) == (original, False)
    assert PaymentRequest.objects.count() == 1


def test_a_different_body_racing_a_disable_is_idempotency_conflict(merchant):
    _create(merchant)
    Merchant.objects.filter(pk=merchant.pk).update(disabled=True)
    with pytest.raises(JoPayError) as raised:
        _create(merchant, digest="x" * 64)
    assert raised.value.code == ErrorCode.IDEMPOTENCY_CONFLICT


def test_a_new_key_racing_a_disable_is_merchant_not_ready(merchant):
    Merchant.objects.filter(pk=merchant.pk).update(disabled=True)
    with pytest.raises(JoPayError) as raised:
        _create(merchant)
    assert raised.value.code == ErrorCode.MERCHANT_NOT_READY
    assert not PaymentRequest.objects.exists()
