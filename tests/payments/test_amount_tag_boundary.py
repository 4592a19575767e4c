"""D15 at the exact end of a tag's hold: the instant both windows share.

A request's proof window closes at ``expires_at`` + grace, inclusive (D20:
``block time <= expires_at + 10 min``); a new request's opens at
``created_at - CREATED_AT_SKEW``, inclusive too (``payments.chain.verify``).
When the first ends exactly where the second starts, a transfer mined at that
second pays either: the tag must still be taken then.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from payments.chain.matching import payable_at
from payments.chain.verify import window_start
from payments.models import Chain, PaymentRequest
from payments.services.tags import TAG_HELD_AFTER_EXPIRY
from tests.payments.test_amounts import BASE_2500_EUR, request_row, seed

pytestmark = pytest.mark.usefixtures("rates")

# A whole second, as block timestamps are.
NOW = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)


def test_a_tag_whose_window_ends_where_the_new_one_starts_is_still_taken(
    api, create, merchant
):
    with time_machine.travel(NOW, tick=False):
        seed(merchant, range(1, 1000))
        # Tag 0: expired, its proof window (expires_at + grace) ending exactly
        # at the new request's first payable block time (NOW - skew).
        holder = request_row(
            merchant,
            usdc_micro=BASE_2500_EUR,
            status=PaymentRequest.Status.EXPIRED,
            expires_at=NOW - TAG_HELD_AFTER_EXPIRY,
        )
        holder.save()
        shared = window_start(NOW)
        assert holder.proof_deadline == shared  # both windows hold this second
        chain = Chain(chain_id=8453, name="Base")  # a mainnet: a live request
        assert payable_at(chain, shared).filter(pk=holder.pk).exists()

        response = create(api)

    # A new request at BASE + 0 would share that second with the holder: one
    # transfer mined then would match two requests (the older one wins).
    assert (response.status_code, response.json().get("error")) == (
        409,
        "amount_unavailable",
    )


def test_one_microsecond_later_the_tag_is_free(api, create, merchant):
    with time_machine.travel(NOW, tick=False):
        seed(merchant, range(1, 1000))
        request_row(
            merchant,
            usdc_micro=BASE_2500_EUR,
            status=PaymentRequest.Status.EXPIRED,
            expires_at=NOW - TAG_HELD_AFTER_EXPIRY - timedelta(microseconds=1),
        ).save()

        response = create(api)

    assert response.status_code == 201, response.json()
    assert int(response.json()["amount"]["usdc_micro"]) == BASE_2500_EUR
