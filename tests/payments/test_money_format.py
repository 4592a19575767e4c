"""Display of integer money (spec §9.1 exponents): exact, grouped, signed."""

from __future__ import annotations

import pytest

from payments.money import format_minor, format_usdc


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (2500, "EUR", "25.00"),
        (2500, "JPY", "2,500"),
        (1, "KRW", "1"),
        (5, "HUF", "0.05"),
        (2_147_483_647, "CLP", "2,147,483,647"),
        (2_147_483_647, "EUR", "21,474,836.47"),
        (0, "EUR", "0.00"),
        # divmod floors: -1 read "-1.99" (a future refund or adjustment).
        (-1, "EUR", "-0.01"),
        (-250_000, "EUR", "-2,500.00"),
        (-2500, "JPY", "-2,500"),
    ],
)
def test_format_minor(amount, currency, text):
    assert format_minor(amount, currency) == text


@pytest.mark.parametrize(
    ("micro", "text"),
    [
        (27_500_123, "27.500123"),
        (1, "0.000001"),
        (0, "0.000000"),
        (9_223_372_036_854_775_807, "9223372036854.775807"),
        (-1, "-0.000001"),
        (-27_500_123, "-27.500123"),
    ],
)
def test_format_usdc(micro, text):
    assert format_usdc(micro) == text
