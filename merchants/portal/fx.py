"""The FX overrides section of ``/portal/settings/`` (D14, D31): what it shows.

A partner's override is a pinned manual rate for one currency, in fiat units
per 1 USDC, used for the partner's requests in that currency in live and test
mode alike. Each row sits next to the global rate it replaces (rate, source,
age), so the partner can see how far apart the two are. Reads go through
``payments.selectors``, scoped to the partner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from merchants.models import Partner
from payments.selectors import (
    fx_rate_is_stale,
    fx_rate_override_list,
    fx_rates_global,
)


def format_rate(rate: Decimal) -> str:
    """``0.920000000000000000`` → ``"0.92"``; never exponent notation."""
    return format(rate.normalize(), "f")


@dataclass(frozen=True)
class FxOverrideRow:
    currency: str
    rate: str
    set_at: datetime
    is_enabled: bool  # a currency disabled since keeps its override, removable
    global_rate: str | None = None
    global_source: str | None = None
    global_fetched_at: datetime | None = None
    global_is_pinned: bool = False
    global_is_stale: bool = False


def fx_override_rows(partner: Partner) -> list[FxOverrideRow]:
    """``partner``'s overrides by currency, each with the current global rate."""
    overrides = fx_rate_override_list(partner=partner)
    globals_ = fx_rates_global([o.currency for o in overrides])
    enabled = set(partner.enabled_currencies)
    rows = []
    for override in overrides:
        found = globals_.get(override.currency)
        extra = {}
        if found is not None:
            extra = {
                "global_rate": format_rate(found.rate),
                "global_source": found.source,
                "global_fetched_at": found.fetched_at,
                "global_is_pinned": found.pinned,
                "global_is_stale": fx_rate_is_stale(found),
            }
        rows.append(
            FxOverrideRow(
                currency=override.currency,
                rate=format_rate(override.rate),
                set_at=override.fetched_at,
                is_enabled=override.currency in enabled,
                **extra,
            )
        )
    return rows
