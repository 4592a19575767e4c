"""Staff admin for payments: requests, FX rates and the chain registry (STYLE.md).

Admin is for support. Money is never edited in place: every field of a payment
request is read-only, and changes go through actions that call the same
services as the API and portal (``proof_reverify``, ``payment_request_cancel``),
so they keep their locks, events and error codes. FX rates are pinned through
``fx_rate_set_manual`` and refreshed through ``fx_refresh``; chains are saved
through ``chain_configure``.

Three modules, one per model family: ``requests`` (its re-verify action in
``reverify``), ``fx``, ``chains``.
"""

from .chains import ChainAdmin
from .fx import FxRateAdmin
from .requests import PaymentRequestAdmin

__all__ = ["ChainAdmin", "FxRateAdmin", "PaymentRequestAdmin"]
