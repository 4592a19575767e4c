"""Staff admin for partners, portal users, API keys and merchants.

Amounts and secrets are never edited in place: keys are created through the
same service as the commands (the full key is shown once, on the page the
creating POST redirects to, D6) and revoked with an action that leaves a
LogEntry naming the staff user. Merchants are created over the API, never
here. What staff may type is held to the rules the API applies, so the admin
cannot store a value the API would later choke on: rate-limit overrides the
limiter parses (D27), EIP-55/hex addresses, the auto-forward rule of D29 and
the partner settings' bounds the portal applies (D11, D13; Partner.clean).
"""

from .audit import AuditedChangesMixin, AuditEntryAdmin
from .keys import ApiKeyAdmin
from .merchants import MerchantAdmin
from .partners import PartnerAdmin
from .user_privileges import PrivilegeGuardedUserAdmin
from .users import StaffUserAdmin

__all__ = [
    "ApiKeyAdmin",
    "AuditEntryAdmin",
    "AuditedChangesMixin",
    "MerchantAdmin",
    "PartnerAdmin",
    "PrivilegeGuardedUserAdmin",
    "StaffUserAdmin",
]
