"""The status the page can no longer confirm (its polls fail, D27) is still
readable: the badge was dimmed to 55 % opacity, its text 2.2:1 to 2.7:1 on
its background (WCAG AA asks 4.5:1), while the customer still needs to read
"Awaiting payment" or "Expired". It is now marked as unconfirmed without
losing contrast."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from merchants.templatetags.brand_colours import contrast
from payments.models import PaymentRequest

pytestmark = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PR = PaymentRequest
LOOK = """e => { const s = getComputedStyle(e);
  return [s.color, s.backgroundColor, s.opacity,
          getComputedStyle(e.closest('.card')).backgroundColor]; }"""


def _rgba(css_colour: str) -> tuple[list[float], float]:
    values = [float(v) for v in re.findall(r"[\d.]+", css_colour)]
    return values[:3], (values[3] if len(values) > 3 else 1.0)


def _over(colour: list[float], alpha: float, under: list[float]) -> list[float]:
    return [alpha * c + (1 - alpha) * u for c, u in zip(colour, under, strict=True)]


def _hex(rgb: list[float]) -> str:
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def seen_contrast(badge) -> float:
    """The text's contrast on the badge as drawn on the card: each colour's
    own alpha, then the element's opacity over the card."""
    text, face, opacity, card = badge.evaluate(LOOK)
    card_rgb, _ = _rgba(card)
    face_rgb = _over(*_rgba(face), card_rgb)
    text_rgb = _over(*_rgba(text), face_rgb)
    opacity = float(opacity)
    return contrast(
        _hex(_over(text_rgb, opacity, card_rgb)),
        _hex(_over(face_rgb, opacity, card_rgb)),
    )


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({}, "Awaiting payment"),
        (
            {"status": PR.Status.EXPIRED, "expires_in": -timedelta(minutes=2)},
            "Expired",
        ),
    ],
)
def test_an_unconfirmed_status_stays_readable(
    live_server, page, local_chain, make_request, fields, text
):
    pr = make_request(**fields)
    page.route(
        "**/status",
        lambda route: route.fulfill(status=503, content_type="text/html", body="x"),
    )
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    badge = page.get_by_test_id("status")
    expect(badge).to_have_text(text)
    expect(badge).to_have_attribute("data-stale", "", timeout=10_000)
    ratio = seen_contrast(badge)
    assert ratio >= 4.5, (text, round(ratio, 2))
