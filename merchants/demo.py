"""The local demo partner `make run` prints a test key for (D30 quickstart).

`make run` keeps what it created in ``$JOPAY_DATA_DIR/demo.json``, but that
folder is not the database: the same folder can meet another database (run
embedded first, then with ``DATABASE_URL``), and the same database can meet a
fresh folder (``make clean``). The record is therefore checked against the
database the stack is about to use, never trusted as it stands.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from .keys import api_key_create, hash_key, is_well_formed
from .models import ApiKey, Partner
from .partners import partner_create

DEMO_SLUG = "demo"
DEMO_CURRENCIES = ["EUR", "USD", "GBP", "JPY"]


SWITCHED_OFF = (
    ", but the demo partner is switched off (admin): its keys answer "
    "auth_failed until staff switch it on"
)


def _works(raw: Any, *, test_mode: bool) -> bool:
    """Whether ``raw`` is a usable key of the demo partner in that mode, here.

    The partner's switch is not asked: switched off by staff, fresh keys
    would fail the same way (``demo_partner_ensure`` says so instead).
    """
    if not isinstance(raw, str) or not is_well_formed(raw):
        return False
    key = (
        ApiKey.objects.select_related("partner").filter(key_hash=hash_key(raw)).first()
    )
    return (
        key is not None
        and key.is_usable()
        and key.test_mode is test_mode
        and key.partner.slug == DEMO_SLUG
    )


@transaction.atomic
def demo_partner_ensure(saved: Any) -> tuple[dict[str, Any], str]:
    """A demo record whose test and live keys work in this database, and what
    was done.

    ``saved`` is an earlier run's record (any JSON value, or None). Returns
    ``(record, outcome)``: ``"kept"`` when both its keys still authenticate
    here; ``"new keys"`` when the demo partner exists here but a key does not
    (revoked in the portal, or from another database): a fresh key replaces
    each one that fails and a working one is kept (the quickstart sets the
    webhook endpoint with the live key, so a record whose live key was
    revoked stopped it on every later run); ``"created"`` otherwise, the
    partner made as ``create_partner`` makes it; "kept" and "new keys" end in
    ``SWITCHED_OFF`` while staff have the partner switched off. The record has
    ``create_partner --json``'s keys.
    """
    record: dict[str, Any] = {}
    if isinstance(saved, dict):
        for field, test_mode in (("test_key", True), ("live_key", False)):
            if _works(saved.get(field), test_mode=test_mode):
                record[field] = saved[field]
        if len(record) == 2:
            active = Partner.objects.filter(slug=DEMO_SLUG, is_active=True).exists()
            return saved, "kept" if active else "kept" + SWITCHED_OFF
    partner = Partner.objects.filter(slug=DEMO_SLUG).first()
    if partner is not None:
        if "test_key" not in record:
            _, record["test_key"] = api_key_create(
                partner=partner, test_mode=True, name="make run test key"
            )
        if "live_key" not in record:
            _, record["live_key"] = api_key_create(
                partner=partner, test_mode=False, name="make run live key"
            )
        outcome = "new keys" if partner.is_active else "new keys" + SWITCHED_OFF
    else:
        made = partner_create(
            slug=DEMO_SLUG,
            name="Demo Partner",
            currency="EUR",
            currencies=DEMO_CURRENCIES,
        )
        partner = made.partner
        record = {"live_key": made.live_key, "test_key": made.test_key}
        outcome = "created"
    record = {
        "partner_id": str(partner.pk),
        "slug": partner.slug,
        "live_key": record["live_key"],
        "test_key": record["test_key"],
        "webhook_secret": None,
    }
    return record, outcome
