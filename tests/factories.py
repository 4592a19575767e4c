"""Shared factories for the tenant roots (partners, users, keys, merchants)."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from merchants.keys import api_key_create
from merchants.models import Merchant, Partner, PartnerUser

# A valid EIP-55 address (anvil's account 1) and helpers use Account.create() for more.
WALLET = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def _letters(n: int) -> str:
    """0 → "a", 25 → "z", 26 → "ba": ``n`` in base 26 with the digits a…z."""
    digits = ""
    while True:
        n, digit = divmod(n, 26)
        digits = "abcdefghijklmnopqrstuvwxyz"[digit] + digits
        if n == 0:
            return digits


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    # Letters only (the slug rule), base 26: short for any number of partners.
    slug = factory.Sequence(lambda n: "partner-" + _letters(n))
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    default_currency = "EUR"
    enabled_currencies = factory.LazyFunction(lambda: ["EUR", "USD", "JPY", "GBP"])
    min_fiat_per_request = 100


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.LazyAttribute(lambda o: o.username)
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class PartnerUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerUser

    user = factory.SubFactory(UserFactory)
    partner = factory.SubFactory(PartnerFactory)


class MerchantFactory(factory.django.DjangoModelFactory):
    """A ready merchant (complete onboarding, external wallet) unless told otherwise."""

    class Meta:
        model = Merchant

    partner = factory.SubFactory(PartnerFactory)
    test_mode = False
    business_name = factory.Sequence(lambda n: f"Shop {n}")
    display_name = factory.Sequence(lambda n: f"shop{n}")
    email = factory.Sequence(lambda n: f"shop{n}@example.com")
    country = "DE"
    wallet_address = WALLET
    wallet_type = Merchant.WalletType.EXTERNAL
    onboarding_status = Merchant.OnboardingStatus.COMPLETE


def make_key(
    partner: Partner, *, test_mode: bool = False, scopes=None, **kwargs
) -> str:
    return api_key_create(
        partner=partner, test_mode=test_mode, scopes=scopes, **kwargs
    )[1]
