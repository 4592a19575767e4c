"""Partners (the top-level tenant), their portal users, API keys and merchants.

One module per seam; every name is re-exported here, where code and the
migrations (``merchants.models._default_enabled_currencies``) look for it.
"""

from .audit import AuditEntry
from .keys import ApiKey
from .merchants import ZERO_ADDRESS, Merchant
from .partners import (
    CURRENCY_CHOICES,
    Partner,
    PartnerUser,
    _default_enabled_currencies,
    slug_validator,
)

__all__ = [
    "CURRENCY_CHOICES",
    "ZERO_ADDRESS",
    "ApiKey",
    "AuditEntry",
    "Merchant",
    "Partner",
    "PartnerUser",
    "_default_enabled_currencies",
    "slug_validator",
]
