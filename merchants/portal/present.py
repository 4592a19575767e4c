"""Display helpers shared by the portal pages (formatting only, no reads/writes)."""

from __future__ import annotations

from payments.models import PaymentRequest
from payments.money import format_minor, format_usdc


def request_row(pr: PaymentRequest) -> dict:
    """A request with its amounts formatted from the stored integers."""
    return {
        "pr": pr,
        "fiat": format_minor(pr.fiat_int, pr.fiat_code),
        "usdc": format_usdc(pr.usdc_micro),
    }
