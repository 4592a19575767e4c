"""The text colour that reads on a partner's brand colour (D22 branding).

Buttons and the top bar are painted in the partner's colours with white text;
a light colour (#FF6600: 2.9:1) fell below WCAG's 4.5:1 for normal text. The
text is white or black, whichever contrasts more (WCAG 2.x relative
luminance). Colours, not money: floats are fine here.
"""

from __future__ import annotations

import re

from django import template

register = template.Library()

WHITE = "#ffffff"
DARK = "#000000"  # with white, one of the two always reaches 4.5:1 (4.58 at worst)
_HEX = re.compile(r"#([0-9a-fA-F]{6})")


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (
        c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels
    )
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@register.filter
def brand_hex(colour: str) -> str:
    """``colour`` if it is #rrggbb, else "": the page keeps the stylesheet's
    own colours for a value the admin refuses now ("#fff", "red") but a row
    saved before its check may still hold."""
    return colour if isinstance(colour, str) and _HEX.fullmatch(colour) else ""


@register.filter
def text_on(colour: str) -> str:
    """``WHITE`` or ``DARK``, whichever reads better on ``colour`` (#rrggbb);
    white for anything else (the stylesheet's default colours)."""
    if not isinstance(colour, str) or not _HEX.fullmatch(colour):
        return WHITE
    return WHITE if contrast(colour, WHITE) >= contrast(colour, DARK) else DARK


# Links and focus rings sit on the white card and on the page's grey (--bg in
# css/jopay.css); a colour that reads on the grey reads on white as well.
PAGE_BACKGROUND = "#f6f7fb"
TEXT_CONTRAST = 4.5  # WCAG 2.x AA, normal text


@register.filter
def on_white(colour: str) -> str:
    """``colour`` (#rrggbb) if text in it reads at 4.5:1 on the page's white
    and grey backgrounds, else the same hue darkened step by step until it
    does (#ffff00 on white was 1.07:1, #FF6600 2.9:1). Anything else gives
    "" (the stylesheet's default colour applies)."""
    if not isinstance(colour, str) or not _HEX.fullmatch(colour):
        return ""
    channels = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    for step in range(100, 0, -1):
        shade = "#" + "".join(f"{c * step // 100:02x}" for c in channels)
        if contrast(shade, PAGE_BACKGROUND) >= TEXT_CONTRAST:
            return shade
    return DARK  # black reads on both
