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

from jopay_project.errors import JoPayError

from .keys import api_key_authenticate, api_key_create
from .models import Partner
from .partners import partner_create

DEMO_SLUG = "demo"
DEMO_CURRENCIES = ["EUR", "USD", "GBP", "JPY"]


@transaction.atomic
def demo_partner_ensure(saved: Any) -> tuple[dict[str, Any], str]:
    """A demo record whose test key works in this database, and what was done.

    ``saved`` is an earlier run's record (any JSON value, or None). Returns
    ``(record, outcome)``: ``"kept"`` when its test key still authenticates
    here; ``"new keys"`` when the demo partner exists here but that key does
    not (a fresh test and live key are made; earlier keys stay as they are:
    the quickstart sets the webhook endpoint with the live key, so a record
    without one stopped it); ``"created"`` otherwise, the partner made as
    ``create_partner`` makes it. The record has ``create_partner --json``'s keys.
    """
    if isinstance(saved, dict) and isinstance(saved.get("test_key"), str):
        try:
            key = api_key_authenticate(saved["test_key"])
        except JoPayError:
            key = None
        if key is not None and key.test_mode and key.partner.slug == DEMO_SLUG:
            return saved, "kept"
    partner = Partner.objects.filter(slug=DEMO_SLUG).first()
    if partner is not None:
        _, test_key = api_key_create(
            partner=partner, test_mode=True, name="make run test key"
        )
        _, live_key = api_key_create(
            partner=partner, test_mode=False, name="make run live key"
        )
        record = {"live_key": live_key, "test_key": test_key}
        outcome = "new keys"
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
        **record,
        "webhook_secret": None,
    }
    return record, outcome
