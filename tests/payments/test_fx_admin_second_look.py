"""The admin's second look at a far-off manual rate (D14, D31) on the change
page too: an edited rate more than 10 % from the global one needs the tick."""

from __future__ import annotations

from decimal import Decimal

import pytest

from payments.models import FxRate
from tests.portal.test_admin_audit_trail import drawn

pytestmark = pytest.mark.django_db

FX = "/admin/payments/fxrate/"


@pytest.mark.parametrize("scope", ["global", "override"])
def test_editing_a_rate_far_from_the_global_one_needs_a_tick(
    admin_client, partner, scope
):
    """The change page has no currency field (it is read-only there), so the
    check that needs the currency never ran: an inverted EUR rate (1.087 USD
    per EUR typed for EUR per USDC) typed over the existing row was pinned at
    once, mis-pricing every EUR request by 18 %."""
    FxRate.objects.create(
        currency="EUR", rate=Decimal("0.92"), source="feed:test", pinned=False
    )
    row = (
        FxRate.objects.get(currency="EUR", partner=None)
        if scope == "global"
        else FxRate.objects.create(
            currency="EUR",
            partner=partner,
            rate=Decimal("0.92"),
            source="manual",
            pinned=True,
        )
    )
    url = f"{FX}{row.pk}/change/"
    far = {"rate": "1.087", "loaded_as": drawn(admin_client, url)}

    response = admin_client.post(url, far)

    assert response.status_code == 200  # the form again, asking for the tick
    assert "away from the current global EUR rate" in str(
        response.context["adminform"].form.errors["rate"]
    )
    row.refresh_from_db()
    assert row.rate == Decimal("0.92")
    far = {"rate": "1.087", "loaded_as": drawn(admin_client, url), "confirm": "on"}
    assert admin_client.post(url, far).status_code == 302
    row.refresh_from_db()
    assert (row.rate, row.pinned) == (Decimal("1.087"), True)
