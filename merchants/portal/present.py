"""Display helpers shared by the portal pages (formatting only, no reads/writes)."""

from __future__ import annotations

from merchants.portal.fx import format_rate
from payments.models import PaymentRequest
from payments.money import format_minor, format_usdc, group_usdc


def request_row(pr: PaymentRequest) -> dict:
    """A request with its amounts formatted from the stored integers."""
    return {
        "pr": pr,
        "fiat": format_minor(pr.fiat_int, pr.fiat_code),
        "usdc": format_usdc(pr.usdc_micro),  # exact, as the pay page asks for it
        "usdc_grouped": group_usdc(pr.usdc_micro),  # for reading in lists
        "rate": format_rate(pr.fx_rate),
        # D20 accepts an overpayment; the merchant refunds it (spec §13.1).
        "received": format_usdc(pr.received_micro),
        # The evidence's exact value: overpaid_micro saturates at BIGINT's max.
        "overpaid": (
            format_usdc(max(pr.received_micro - pr.usdc_micro, pr.overpaid_micro))
            if pr.overpaid_micro > 0
            else None
        ),
    }
