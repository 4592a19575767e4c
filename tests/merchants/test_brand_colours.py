"""Text on the partner's brand colours stays readable (D22 branding, WCAG 2.x)."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from merchants.templatetags.brand_colours import (
    DARK,
    PAGE_BACKGROUND,
    WHITE,
    contrast,
    on_white,
    text_on,
)


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


@pytest.mark.parametrize(
    ("colour", "link"),
    [
        ("#0f172a", "#0f172a"),  # reads already: unchanged
        ("#2563EB", "#2563eb"),  # JoPay's own blue reads already
        ("#ffff00", None),  # 1.07:1 on white
        ("#FF6600", None),  # 2.9:1 on white
        ("#ffffff", None),
    ],
)
def test_links_get_the_brand_colour_darkened_until_it_reads(colour, link):
    shade = on_white(colour)
    assert contrast(shade, "#ffffff") >= 4.5
    assert contrast(shade, PAGE_BACKGROUND) >= 4.5
    if link:
        assert shade == link
    else:  # the same hue, darker: each channel scaled down alike
        ours = [int(shade[i : i + 2], 16) for i in (1, 3, 5)]
        theirs = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
        assert all(o <= t for o, t in zip(ours, theirs, strict=True))
        assert [bool(o) for o in ours] == [bool(t) for t in theirs]


@pytest.mark.parametrize("odd", ["", None, "red", "#fff"])
def test_no_link_colour_for_anything_but_six_hex_digits(odd):
    assert on_white(odd) == ""


def test_the_page_paints_links_in_the_colour_that_reads(db):
    html = Template("{% extends 'base.html' %}").render(
        Context({"brand_color": "#FF6600"})
    )
    assert f"--brand-on-white: {on_white('#FF6600')};" in html


@pytest.mark.parametrize("stored", ["#fff", "red", "#12345g"])
def test_a_colour_the_admin_refuses_now_is_not_painted(db, stored):
    # A row saved before Partner.clean checked colours: "#fff" was painted
    # as the buttons' colour with white text on it (text_on's default for
    # anything but #rrggbb), so "Submit transaction" was white on white.
    html = Template("{% extends 'base.html' %}").render(
        Context({"brand_color": stored, "brand_color_2": stored})
    )
    assert stored not in html
    assert "--on-brand" not in html


def test_a_valid_secondary_colour_is_painted_without_a_primary(db):
    html = Template("{% extends 'base.html' %}").render(
        Context({"brand_color": "red", "brand_color_2": "#FFFFFF"})
    )
    assert "--brand-2: #FFFFFF; --on-brand-2: #000000;" in html
    assert "--brand:" not in html
