"""Shared pieces of the resilience drills (``make resilience``: ``pytest -m live``).

Every drill runs real processes (gunicorn, Celery, redis-server, anvil) against
pytest-django's test database, so the tests use ``transactional_db``: rows must
be committed for the child processes to see them.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from jopay_project.ratelimits import LIMITS
from payments.services.fx import fx_rate_set_manual
from tests.factories import MerchantFactory, make_key

# Far above any drill's call count (every per-key group of the D27 table): the
# drills measure behaviour, not the limiter.
GENEROUS_LIMITS = {
    group: "100000/m" for group, limit in LIMITS.items() if limit.per == "API key"
}


@pytest.fixture
def live_partner(transactional_db, partner):
    """Alice with generous rate limits and a pinned EUR rate (committed rows)."""
    partner.rate_limit_overrides = GENEROUS_LIMITS
    partner.save(update_fields=["rate_limit_overrides"])
    fx_rate_set_manual(currency="EUR", rate=Decimal("0.92"))
    return partner


@pytest.fixture
def live_merchant(live_partner):
    return MerchantFactory(partner=live_partner, test_mode=False)


@pytest.fixture
def live_key(live_partner):
    return make_key(live_partner)
