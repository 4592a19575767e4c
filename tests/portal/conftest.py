"""Portal fixtures: alice's and bob's portal users, logged-in clients, request rows.

Alice (``partner``) and Bob (``other_partner``) come from ``tests/conftest.py``;
every object page is proven against the other partner and the other mode (D10).
"""

from __future__ import annotations

import itertools
import secrets
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from merchants.portal.access import SESSION_TEST_MODE
from payments.models import Chain, FxRate, PaymentRequest
from tests.factories import WALLET, MerchantFactory, PartnerUserFactory, UserFactory

PASSWORD = "correct-horse-battery"  # tests/factories.UserFactory's password
_amounts = itertools.count(1)


@pytest.fixture
def alice_user(partner):
    user = UserFactory(username="alice@example.com", email="alice@example.com")
    return PartnerUserFactory(user=user, partner=partner)


@pytest.fixture
def bob_user(other_partner):
    user = UserFactory(username="bob@example.com", email="bob@example.com")
    return PartnerUserFactory(user=user, partner=other_partner)


def logged_in(partner_user, *, test_mode: bool = False, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(partner_user.user)
    if test_mode:
        session = client.session
        session[SESSION_TEST_MODE] = True
        session.save()
    return client


@pytest.fixture
def portal(alice_user):
    """Alice, signed in, live mode."""
    return logged_in(alice_user)


@pytest.fixture
def portal_test(alice_user):
    """Alice, signed in, test mode."""
    return logged_in(alice_user, test_mode=True)


@pytest.fixture
def bob_portal(bob_user):
    return logged_in(bob_user)


@pytest.fixture
def bob_merchant(other_partner):
    return MerchantFactory(partner=other_partner, test_mode=False)


@pytest.fixture
def rates(db):
    now = timezone.now()
    return {
        code: FxRate.objects.create(
            currency=code, rate=Decimal(rate), source="test-feed", fetched_at=now
        )
        for code, rate in {"EUR": "0.92", "USD": "1", "JPY": "150"}.items()
    }


def make_request(merchant, **fields) -> PaymentRequest:
    """A request row written directly (the read side needs no FX or chain)."""
    now = timezone.now()
    n = next(_amounts)
    values = {
        "partner": merchant.partner,
        "test_mode": merchant.test_mode,
        "merchant": merchant,
        "reference": f"T{n:05d}"[-6:],
        "fiat_int": 2500,
        "fiat_code": "EUR",
        "usdc_micro": 27_173_000 + n,
        "fx_rate": Decimal("0.92"),
        "fx_source": "test-feed",
        "receiving_address": WALLET,
        "expires_at": now + timedelta(hours=1),
        "created_at": now,
    }
    values.update(fields)
    return PaymentRequest.objects.create(**values)


def make_verified(merchant, *, days_ago: int = 0, **fields) -> PaymentRequest:
    """A paid request with a verified proof, ``days_ago`` days back."""
    now = timezone.now() - timedelta(days=days_ago)
    defaults = {
        "status": PaymentRequest.Status.PAID,
        "proof_status": PaymentRequest.ProofStatus.VERIFIED,
        "chain_id": 84532,
        "tx_hash": "0x" + secrets.token_hex(32),
        "proof_source": PaymentRequest.ProofSource.CUSTOMER,
        "verified_at": now,
        "payer_address": WALLET,
        "created_at": now - timedelta(minutes=5),
        "expires_at": now + timedelta(minutes=55),
    }
    defaults.update(fields)
    return make_request(merchant, **defaults)


@pytest.fixture
def chain(db):
    """A usable test-mode chain (no node needed: attach does no network I/O)."""
    chain, _ = Chain.objects.update_or_create(
        chain_id=31337,
        defaults={
            "name": "Local",
            "is_local": True,
            "is_testnet": False,
            "usdc_address": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            "rpc_urls": ["http://127.0.0.1:1"],
            "confirmations": 1,
            "enabled": True,
        },
    )
    return chain
