"""Text on the partner's brand colours stays readable (D22 branding, WCAG 2.x)."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from merchants.templatetags.brand_colours import DARK, WHITE, contrast, text_on


@pytest.mark.parametrize(
    ("colour", "text"),
    [
        ("#2563eb", WHITE),  # JoPay's own blue
        ("#0f172a", WHITE),
        ("#FF6600", DARK),  # white on it is 2.9:1
        ("#ffff00", DARK),
        ("#22c55e", DARK),
        ("#7c3aed", WHITE),
    ],
)
def test_the_text_colour_is_the_one_that_reads_better(colour, text):
    assert text_on(colour) == text
    other = DARK if text == WHITE else WHITE
    assert contrast(colour, text) >= contrast(colour, other)


def test_every_colour_gets_a_text_of_at_least_4_5_to_1():
    # Between white and black one always reaches 4.5:1; the worst case of the
    # choice is a mid grey.
    for level in range(0, 256):
        grey = f"#{level:02x}{level:02x}{level:02x}"
        assert contrast(grey, text_on(grey)) >= 4.5, grey


@pytest.mark.parametrize("odd", ["", None, "red", "#fff", "#12345g", "#1234567"])
def test_anything_but_six_hex_digits_keeps_white(odd):
    assert text_on(odd) == WHITE


def test_the_page_paints_text_in_the_colour_that_reads(db):
    html = Template("{% extends 'base.html' %}").render(
        Context({"brand_color": "#FF6600", "brand_color_2": "#0f172a"})
    )
    assert "--on-brand: #000000;" in html
    assert "--on-brand-2: #ffffff;" in html
