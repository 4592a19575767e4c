"""D9: a revoked or expired key, or one of a switched-off partner, is answered
as an unknown key is, and found no faster or slower.

The key lookup read such a key's row and built it into a model before
refusing it: ~70 µs (the median, about 1.7 times an unknown key's lookup)
that a caller holding an old key could measure to learn it had been real.
Now the lookup's statement finds no row for it, exactly as for a key that
never existed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from merchants import keys
from merchants.models import ApiKey, Partner

UNKNOWN = "jo_live_" + "A" * 32


def _made_unusable(partner, how: str) -> str:
    key, full = keys.api_key_create(partner=partner, test_mode=False)
    if how == "revoked":
        keys.api_key_revoke(key=key)
    elif how == "expired":
        ApiKey.objects.filter(pk=key.pk).update(
            expires_at=timezone.now() - timedelta(minutes=5)
        )
    else:
        Partner.objects.filter(pk=partner.pk).update(is_active=False)
    return full


@pytest.mark.parametrize("how", ["revoked", "expired", "partner switched off"])
def test_an_unusable_key_is_no_row_as_an_unknown_key_is(partner, how):
    full = _made_unusable(partner, how)
    assert keys._key_with_partner(keys.hash_key(UNKNOWN)) is None
    assert keys._key_with_partner(keys.hash_key(full)) is None
    response = APIClient().get("/api/v1/merchants", HTTP_AUTHORIZATION=f"Bearer {full}")
    assert (response.status_code, response.json()["error"]) == (401, "auth_failed")


def test_a_usable_key_is_still_found(partner):
    later = timezone.now() + timedelta(minutes=5)
    key, full = keys.api_key_create(partner=partner, test_mode=True, expires_at=later)
    found = keys._key_with_partner(keys.hash_key(full))
    assert found is not None
    assert (found.pk, found.partner.pk) == (key.pk, partner.pk)
    response = APIClient().get("/api/v1/merchants", HTTP_AUTHORIZATION=f"Bearer {full}")
    assert response.status_code == 200
