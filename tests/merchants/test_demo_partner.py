"""`make run`'s demo partner is checked against the database it runs on (D30).

The saved record lives in the data folder, which is not the database: run
embedded first and then on PostgreSQL, and the banner printed a key the
database had never seen; `make clean` and then `make run` on the same
PostgreSQL failed every time, the slug being taken.
"""

from __future__ import annotations

import pytest

from merchants.demo import DEMO_SLUG, demo_partner_ensure
from merchants.keys import api_key_authenticate
from merchants.models import ApiKey, Partner

pytestmark = pytest.mark.django_db

FOREIGN_KEY = "jo_test_" + "Z" * 32  # well formed, from another database


def authenticates(record: dict) -> bool:
    key = api_key_authenticate(record["test_key"])
    return key.test_mode and key.partner.slug == DEMO_SLUG


def test_a_first_run_creates_the_partner_as_create_partner_does():
    record, outcome = demo_partner_ensure(None)

    assert outcome == "created"
    assert authenticates(record)
    assert api_key_authenticate(record["live_key"]).test_mode is False
    partner = Partner.objects.get(slug=DEMO_SLUG)
    assert record["partner_id"] == str(partner.pk)
    assert (partner.default_currency, partner.enabled_currencies) == (
        "EUR",
        ["EUR", "USD", "GBP", "JPY"],
    )


def test_a_saved_key_that_works_here_is_kept():
    first, _ = demo_partner_ensure(None)
    keys = ApiKey.objects.count()

    again, outcome = demo_partner_ensure(first)

    assert (again, outcome) == (first, "kept")
    assert ApiKey.objects.count() == keys


@pytest.mark.parametrize(
    "saved",
    [None, {"test_key": FOREIGN_KEY}, {"test_key": 42}, ["junk"], "junk"],
    ids=["folder cleaned", "another database's key", "bad key", "list", "text"],
)
def test_an_existing_partner_gets_a_fresh_test_key_not_a_second_partner(saved):
    demo_partner_ensure(None)

    record, outcome = demo_partner_ensure(saved)

    assert outcome == "new keys"
    assert authenticates(record)
    # The quickstart sets the webhook endpoint with the live key (a live key
    # only may change it, D35): a record without one stopped it.
    assert api_key_authenticate(record["live_key"]).test_mode is False
    assert Partner.objects.filter(slug=DEMO_SLUG).count() == 1


def test_a_key_from_another_database_on_a_database_without_the_partner():
    record, outcome = demo_partner_ensure({"test_key": FOREIGN_KEY, "slug": "demo"})

    assert outcome == "created"
    assert authenticates(record)


def test_a_revoked_live_key_is_replaced_and_the_working_test_key_kept():
    """Only the test key was checked: after the live key was revoked (portal →
    API keys), every later `make run` kept the record, and the quickstart's
    webhook step (a live key only may set the endpoint) answered auth_failed
    until demo.json was deleted by hand."""
    from merchants.keys import api_key_revoke

    first, _ = demo_partner_ensure(None)
    api_key_revoke(key=api_key_authenticate(first["live_key"]))

    record, outcome = demo_partner_ensure(first)

    assert outcome == "new keys"
    assert record["test_key"] == first["test_key"]  # the operator's $JOPAY_KEY
    assert api_key_authenticate(record["live_key"]).test_mode is False
    assert record["live_key"] != first["live_key"]


def test_a_saved_test_key_in_the_live_slot_is_not_kept():
    first, _ = demo_partner_ensure(None)

    record, outcome = demo_partner_ensure({**first, "live_key": first["test_key"]})

    assert outcome == "new keys"
    assert api_key_authenticate(record["live_key"]).test_mode is False


def test_a_switched_off_demo_partner_keeps_its_keys_and_is_said_so():
    """Switched off in the admin, the demo partner's keys answer auth_failed:
    every `make run` then made two more keys that failed the same way, and the
    banner printed one without a word why."""
    first, _ = demo_partner_ensure(None)
    Partner.objects.filter(slug=DEMO_SLUG).update(is_active=False)
    keys = ApiKey.objects.count()

    record, outcome = demo_partner_ensure(first)

    assert record == first
    assert outcome.startswith("kept, but the demo partner is switched off")
    assert ApiKey.objects.count() == keys
