"""Fixtures for the docs tests: fresh FX rates so documented requests can run."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from payments.models import FxRate


@pytest.fixture
def fx_rates(db):
    """Fresh global rates (fiat per USDC) for the factory partners' currencies."""
    now = timezone.now()
    for code, rate in {"EUR": "0.92", "USD": "1", "JPY": "150", "GBP": "0.8"}.items():
        FxRate.objects.create(
            currency=code, rate=Decimal(rate), source="test-feed", fetched_at=now
        )
