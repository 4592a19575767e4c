"""D17: ``fiat_currency_code`` is part of a plan create body, as for requests.

Same key + another ``fiat_currency_code`` → 409 ``idempotency_conflict``; the
same body → the original plan (200).
"""

from __future__ import annotations

from recurring.models import Plan
from tests.recurring.api.test_create import KEY, assert_error, body, post


def test_same_key_with_another_fiat_currency_code_is_idempotency_conflict(
    api, merchant
):
    first = post(api, body(merchant, idempotency_key=KEY, fiat_currency_code="EUR"))
    assert first.status_code == 201, first.content

    for other in ("USD", "GBP"):
        assert_error(
            post(api, body(merchant, idempotency_key=KEY, fiat_currency_code=other)),
            "idempotency_conflict",
            status=409,
        )
    # Leaving the assertion out is another body too (as for payment requests).
    assert_error(
        post(api, body(merchant, idempotency_key=KEY)),
        "idempotency_conflict",
        status=409,
    )
    assert Plan.objects.count() == 1


def test_same_key_and_same_fiat_currency_code_replays_with_200(api, merchant):
    first = post(api, body(merchant, idempotency_key=KEY, fiat_currency_code="EUR"))
    assert first.status_code == 201, first.content

    again = post(api, body(merchant, idempotency_key=KEY, fiat_currency_code="EUR"))

    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["plan_id"] == first.json()["plan_id"]
    assert Plan.objects.count() == 1


def test_a_plan_made_without_the_code_conflicts_with_a_retry_naming_another(
    api, merchant
):
    first = post(api, body(merchant, idempotency_key=KEY))
    assert first.status_code == 201, first.content

    assert_error(
        post(api, body(merchant, idempotency_key=KEY, fiat_currency_code="USD")),
        "idempotency_conflict",
        status=409,
    )
    again = post(api, body(merchant, idempotency_key=KEY))
    assert again.status_code == 200
    assert again.json()["plan_id"] == first.json()["plan_id"]
