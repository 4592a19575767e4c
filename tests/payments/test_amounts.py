"""D15 unique amounts: distinct tags per wallet across partners and modes, the grace
window, and amount_unavailable when all 1 000 tags are taken."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from django.db import connection
from django.utils import timezone

from jopay_project.tenancy import Tenant
from merchants.models import Partner
from payments.models import PaymentRequest
from payments.models.requests import PROOF_GRACE
from payments.services.requests import PaymentRequestDraft, payment_request_create
from payments.services.tags import TAG_HELD_AFTER_EXPIRY
from tests.factories import WALLET, MerchantFactory

pytestmark = pytest.mark.usefixtures("rates")

BASE_2500_EUR = 27_173_000  # floor(25.00 / 0.92 * 10**6) rounded down to 1 000


def seed(
    merchant,
    tags,
    *,
    status=PaymentRequest.Status.REQUESTED,
    expires_in=3600,
    partner: Partner | None = None,
    base=BASE_2500_EUR,
):
    """Rows that occupy ``base + tag`` at the merchant's wallet, written directly."""
    now = timezone.now()
    PaymentRequest.objects.bulk_create(
        request_row(
            merchant,
            usdc_micro=base + tag,
            status=status,
            expires_at=now + timedelta(seconds=expires_in),
            partner=partner,
        )
        for tag in tags
    )


def request_row(
    merchant, *, usdc_micro, status, expires_at, partner: Partner | None = None
) -> PaymentRequest:
    """An unsaved request at the merchant's wallet (25.00 EUR at 0.92)."""
    return PaymentRequest(
        partner=partner or merchant.partner,
        test_mode=merchant.test_mode,
        merchant=merchant,
        reference=uuid.uuid4().hex[:10].upper(),
        status=status,
        fiat_int=2500,
        fiat_code="EUR",
        usdc_micro=usdc_micro,
        fx_rate=Decimal("0.92"),
        fx_source="seed",
        receiving_address=WALLET,
        expires_at=expires_at,
    )


def usdc(response) -> int:
    assert response.status_code == 201, response.json()
    return int(response.json()["amount"]["usdc_micro"])


def test_same_amount_same_wallet_gets_distinct_tags(api, create):
    amounts = [usdc(create(api)) for _ in range(40)]
    assert len(set(amounts)) == 40
    assert all(BASE_2500_EUR <= a < BASE_2500_EUR + 1000 for a in amounts)


def test_tags_are_not_sequential(api, create):
    # D15: each create walks the tags from a random start (tags.py), so the
    # next tag is not guessable. Tags handed out in a row from any fixed
    # start (0, 537 or a hash of the wallet) step by 1 each time; a fixed
    # stride, by one constant. The old check failed only for a run from 0.
    tags = [usdc(create(api)) - BASE_2500_EUR for _ in range(10)]
    steps = {(b - a) % 1000 for a, b in pairwise(tags)}
    assert len(steps) >= 3, tags


def test_distinct_across_partners_and_modes_sharing_a_wallet(
    api, api_test, create, client_for, other_partner, partner, merchant
):
    bob_merchant = MerchantFactory(partner=other_partner, wallet_address=WALLET)
    alice_test_merchant = MerchantFactory(
        partner=partner, test_mode=True, wallet_address=WALLET.lower()
    )
    bob = client_for(other_partner)
    amounts = []
    for _ in range(5):
        amounts.append(usdc(create(api)))
        amounts.append(usdc(create(bob, bob_merchant)))
        amounts.append(usdc(create(api_test, alice_test_merchant)))
    assert len(set(amounts)) == 15
    # One canonical (EIP-55) spelling, whatever case the merchant row holds.
    assert set(PaymentRequest.objects.values_list("receiving_address", flat=True)) == {
        WALLET
    }


def test_other_wallets_do_not_share_the_tag_space(api, create, partner, merchant):
    seed(merchant, range(1000))
    other = MerchantFactory(
        partner=partner, wallet_address="0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
    )
    assert BASE_2500_EUR <= usdc(create(api, other)) < BASE_2500_EUR + 1000


def test_the_1001st_open_request_is_amount_unavailable(api, create, merchant):
    seed(merchant, range(999))
    last = usdc(create(api))  # the one free tag
    taken = set(PaymentRequest.objects.values_list("usdc_micro", flat=True))
    assert last in taken
    assert len(taken) == 1000

    response = create(api)
    assert (response.status_code, response.json()["error"]) == (
        409,
        "amount_unavailable",
    )
    assert PaymentRequest.objects.count() == 1000
    # Another amount is still fine.
    assert usdc(create(api, fiat_amount_int=2600)) >= 28_260_000


def test_tag_frees_once_expired_past_the_grace_and_the_skew(api, create, merchant):
    seed(merchant, range(1, 1000))
    # Tag 0 is held by a request that expired beyond its grace window and the
    # 120 s a new request looks back (D15, D20): free again.
    seed(
        merchant,
        [0],
        status=PaymentRequest.Status.EXPIRED,
        expires_in=-(TAG_HELD_AFTER_EXPIRY.total_seconds() + 5),
    )
    assert usdc(create(api)) == BASE_2500_EUR


def test_tag_stays_taken_while_a_new_request_could_still_accept_its_transfer(
    api, create, merchant
):
    """D15: past the grace but within ``CREATED_AT_SKEW`` of it, a transfer mined
    just before grace's end would pay the old request (D20) and also a new one
    (which accepts blocks up to 120 s before its creation). The tag stays taken."""
    seed(merchant, range(1, 1000))
    seed(
        merchant,
        [0],
        status=PaymentRequest.Status.EXPIRED,
        expires_in=-(PROOF_GRACE.total_seconds() + 60),
    )
    response = create(api)
    assert (response.status_code, response.json().get("error")) == (
        409,
        "amount_unavailable",
    )


def test_tag_stays_taken_within_the_grace_window(api, create, merchant):
    seed(merchant, range(1000))
    # Expired 1 minute ago: a late transfer may still arrive (D20), so still taken,
    # whatever the status says.
    holder = PaymentRequest.objects.filter(usdc_micro=BASE_2500_EUR)
    for status in (PaymentRequest.Status.EXPIRED, PaymentRequest.Status.CANCELLED):
        holder.update(status=status, expires_at=timezone.now() - timedelta(minutes=1))
        assert create(api).json()["error"] == "amount_unavailable"
    holder.update(
        expires_at=timezone.now() - TAG_HELD_AFTER_EXPIRY - timedelta(seconds=5)
    )
    assert usdc(create(api)) == BASE_2500_EUR


def test_open_request_past_expiry_not_yet_expired_still_holds_its_tag(
    api, create, merchant
):
    seed(merchant, range(1, 1000))
    seed(merchant, [0], expires_in=-3600)  # the expiry task has not run yet
    assert create(api).json()["error"] == "amount_unavailable"


@pytest.mark.django_db(transaction=True)
def test_a_holder_closing_right_after_the_refusal_is_still_amount_unavailable(
    api, create, merchant, monkeypatch
):
    # D15: the full house is told by the INSERT's own refusal. It used to be
    # told by counting the taken tags again afterwards; a holder that another
    # process closed in between (the expiry job, a verdict) left 999, and the
    # refusal was re-raised: a 500 instead of amount_unavailable.
    from contextlib import contextmanager

    from django.db import connections

    from payments.services import tags

    seed(merchant, range(1, 1000))
    seed(merchant, [0], status=PaymentRequest.Status.OPENED, expires_in=-3600)
    send_batch = tags.pipelined

    @contextmanager
    def then_the_expiry_job_commits(*args, **kwargs):
        try:
            with send_batch(*args, **kwargs):
                yield
        finally:
            job = connections.create_connection("default")
            try:
                with job.cursor() as cursor:
                    cursor.execute(
                        "UPDATE payments_paymentrequest SET status = 'expired'"
                        " WHERE usdc_micro = %s",
                        [BASE_2500_EUR],
                    )
            finally:
                job.close()

    monkeypatch.setattr(tags, "pipelined", then_the_expiry_job_commits)
    api.raise_request_exception = False
    response = create(api)
    assert (response.status_code, response.json().get("error")) == (
        409,
        "amount_unavailable",
    )
    assert PaymentRequest.objects.count() == 1000


def test_total_is_never_zero_and_base_is_at_least_1000(api, create, partner):
    from payments.models import FxRate

    partner.min_fiat_per_request = 0
    partner.save()
    # 0.01 EUR at 9.2 EUR/USDC = 1 086 micro-USDC → base 1 000, tag 0…999.
    FxRate.objects.filter(currency="EUR").update(rate=Decimal("9.2"))
    amount = usdc(create(api, fiat_amount_int=1))
    assert 1000 <= amount <= 1999


def _plan_cache_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('plan_cache_mode')")
        return cursor.fetchone()[0]


def _tag_insert_plans() -> tuple[int, int]:
    """(generic, custom) plan counts of this session's prepared tag INSERT."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) "
            "FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%WITH RECURSIVE steps%"],
        )
        return cursor.fetchone()


def test_the_tag_insert_reuses_its_generic_plan(api, create):
    # PostgreSQL would re-plan the INSERT on every call (custom plans, more
    # server CPU than the statement): the lock statement asks for the generic one.
    for _ in range(8):
        usdc(create(api))
    generic, custom = _tag_insert_plans()
    assert generic >= 5
    assert custom == 0


def test_the_generic_plan_setting_ends_with_the_insert_in_a_callers_transaction(
    partner, merchant
):
    # pytest-django's test transaction is the caller's transaction here.
    assert connection.in_atomic_block
    before = _plan_cache_mode()
    payment_request_create(
        tenant=Tenant(partner=partner, test_mode=False),
        draft=PaymentRequestDraft(merchant=merchant, fiat_int=2500, fiat_code="EUR"),
    )
    assert _plan_cache_mode() == before == "auto"


@pytest.mark.django_db(transaction=True)
def test_the_generic_plan_setting_ends_with_the_create_in_autocommit(partner, merchant):
    assert not connection.in_atomic_block
    _, created = payment_request_create(
        tenant=Tenant(partner=partner, test_mode=False),
        draft=PaymentRequestDraft(merchant=merchant, fiat_int=2500, fiat_code="EUR"),
    )
    assert created
    assert _plan_cache_mode() == "auto"


def test_an_amount_beyond_the_usdc_column_is_amount_exceeds_max(api, create):
    """A rate stored before rates were bounded (money.RATE_MIN) made the
    largest amount overflow usdc_micro's BIGINT: a 500 instead of a code."""
    from payments.models import FxRate

    FxRate.objects.filter(currency="EUR").update(
        rate=Decimal("0.000001"), fetched_at=timezone.now()
    )
    response = create(api, fiat_amount_int=2_147_483_647)
    assert (response.status_code, response.json()["error"]) == (
        400,
        "amount_exceeds_max",
    )
    assert not PaymentRequest.objects.exists()


def test_one_minor_unit_more_can_land_on_the_same_taken_base(
    api, create, partner, merchant
):
    """The docs' remedy for ``amount_unavailable`` (/docs/requests/): a minor
    unit is worth less than the 0.001 USDC a base spans in a third of the 28
    currencies (₹0.01 at 83 INR per USDC is 120 micro-USDC), so "change the
    amount by one minor unit" can meet the same full base. Moving the amount
    by 0.001 USDC's worth always leaves it (D15)."""
    from pathlib import Path

    from django.conf import settings

    from payments.models import FxRate

    partner.enabled_currencies = [*partner.enabled_currencies, "INR"]
    partner.save(update_fields=["enabled_currencies"])
    merchant.display_currency = "INR"
    merchant.save(update_fields=["display_currency"])
    FxRate.objects.create(
        currency="INR", rate=Decimal("83"), source="test", fetched_at=timezone.now()
    )
    base = 6_024_000  # ₹500.00 at 83: 6 024 096 micro-USDC, rounded down
    seed(merchant, range(1000), base=base)

    one_more = create(api, fiat_amount_int=50_001)  # ₹500.01: 6 024 216
    assert one_more.json()["error"] == "amount_unavailable"
    # ₹0.09 ≥ 0.001 USDC (9 × 120 micro-USDC): the next base.
    assert usdc(create(api, fiat_amount_int=50_009)) >= base + 1000

    docs = (Path(settings.BASE_DIR) / "docs/site/requests.md").read_text()
    assert "change the amount by one\nminor unit" not in docs
    assert "0.001 USDC" in docs.split("amount_unavailable`:", 1)[1][:400]
