"""Writes for payment requests and FX (STYLE.md: services are keyword-only, typed).

``requests``: create; ``closing``: cancel / expire; ``amounts``: D15 unique
amounts and partner limits; ``fx``: rates and manual pins; ``refresh``: the
feeds' refresh. Proof attach and verification live in ``payments.proofs``.
"""

from .closing import payment_request_cancel, payment_requests_expire_due
from .fx import fx_rate_clear_manual, fx_rate_for, fx_rate_set_manual
from .refresh import fx_refresh
from .requests import (
    PaymentRequestDraft,
    payment_request_create,
    payment_request_replay,
)

__all__ = [
    "PaymentRequestDraft",
    "fx_rate_clear_manual",
    "fx_rate_for",
    "fx_rate_set_manual",
    "fx_refresh",
    "payment_request_cancel",
    "payment_request_create",
    "payment_request_replay",
    "payment_requests_expire_due",
]
