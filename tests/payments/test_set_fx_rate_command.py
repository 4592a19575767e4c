"""``set_fx_rate`` says so when a rate is far from the global one (D31): the
admin and the portal ask for a second look, and a pin never goes stale."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

from django.core.management import call_command

from payments.models import FxRate


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("set_fx_rate", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def feed_rate(currency: str, rate: str) -> None:
    FxRate.objects.create(currency=currency, rate=Decimal(rate), source="ecb:x")


def test_an_inverted_rate_is_pinned_with_a_warning(db):
    feed_rate("EUR", "0.92")
    out, err = run("--currency", "EUR", "--rate", "1.087")  # USD per EUR
    assert "1.087 per USDC, source manual, pinned" in out
    assert "warning: 1.087 is 18% away from the global EUR rate" in err
    assert FxRate.objects.get(partner=None).rate == Decimal("1.087")


def test_a_rate_near_the_global_one_is_pinned_without_a_word(db):
    feed_rate("EUR", "0.92")
    out, err = run("--currency", "EUR", "--rate", "0.93")
    assert "pinned" in out
    assert err == ""


def test_without_a_global_rate_there_is_nothing_to_compare(db):
    _, err = run("--currency", "JPY", "--rate", "150")
    assert err == ""
