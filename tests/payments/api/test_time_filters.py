"""``created_after`` (inclusive) and ``created_before`` (exclusive) against
PostgreSQL, for instants written every way the docs allow (D1, D18, D34).

Rows sit a microsecond apart around one instant; each filter is sent as text
with a random offset and 0 to 9 fraction digits, and the rows it returns must be
exactly those a comparison with the exact instant written selects.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.models import PaymentRequest

BASE = datetime(2026, 4, 17, 17, 0, 0, 500000, tzinfo=UTC)
OFFSETS_MIN = st.integers(-(14 * 60), 14 * 60)


@pytest.fixture
def rows(merchant):
    """Rows created at BASE - 2 µs … BASE + 2 µs (one per microsecond)."""
    merchant.partner.rate_limit_overrides = {"requests.list": "100000/m"}
    merchant.partner.save(update_fields=["rate_limit_overrides"])
    return {
        PaymentRequest.objects.create(
            partner=merchant.partner,
            test_mode=False,
            merchant=merchant,
            reference=f"T{i + 2}",
            fiat_int=100,
            fiat_code="EUR",
            usdc_micro=1_000 + i + 2,
            fx_rate=1,
            fx_source="seed",
            receiving_address=merchant.wallet_address,
            expires_at=BASE + timedelta(hours=1),
            created_at=BASE + timedelta(microseconds=i),
        ).pk: BASE + timedelta(microseconds=i)
        for i in range(-2, 3)
    }


def _text(nanos: int, offset_minutes: int, digits: int) -> tuple[str, Fraction]:
    """``BASE + nanos ns`` written at that offset with ``digits`` fraction
    digits (cut, not rounded), and the exact instant the text names (s since BASE)."""
    exact = Fraction(nanos, 10**9)
    local = BASE.astimezone(timezone(timedelta(minutes=offset_minutes)))
    whole = local.replace(microsecond=0)
    fraction = Fraction(local.microsecond, 10**6) + exact  # seconds past `whole`
    carry = int(fraction // 1)  # never more than one second here
    whole += timedelta(seconds=carry)
    fraction -= carry
    scaled = int(fraction * 10**digits)  # cut to `digits`
    text = whole.isoformat().replace(".000000", "")
    head, sign, zone = text[:19], text[19:20], text[20:]
    written = head + (f".{scaled:0{digits}d}" if digits else "") + sign + zone
    named = Fraction((whole - BASE) // timedelta(microseconds=1), 10**6)
    return written, named + Fraction(scaled, 10**digits)


def _assert_exactly_the_rows(api, rows, param: str, text: str, named) -> None:
    """The list filtered by ``param=text`` holds exactly the rows on its side of
    ``named`` (seconds after BASE, exact): at or after it, or before it."""
    response = api.get("/api/v1/requests", {param: text})
    assert response.status_code == 200, (text, response.json())
    got = {r["request_id"] for r in response.json()["data"]}

    def since_base(at: datetime) -> Fraction:
        return Fraction((at - BASE) // timedelta(microseconds=1), 10**6)

    if param == "created_after":
        want = {str(pk) for pk, at in rows.items() if since_base(at) >= named}
    else:
        want = {str(pk) for pk, at in rows.items() if since_base(at) < named}
    assert got == want, text


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    nanos=st.integers(-3000, 3000),
    offset=OFFSETS_MIN,
    digits=st.integers(0, 9),
    param=st.sampled_from(["created_after", "created_before"]),
)
def test_the_rows_selected_are_exactly_those_on_the_right_side(
    api, rows, nanos, offset, digits, param
):
    text, named = _text(nanos, offset, digits)
    _assert_exactly_the_rows(api, rows, param, text, named)


def test_an_unencoded_plus_in_the_offset_is_read_as_plus(api, rows):
    """/docs/requests/ says a bare ``+`` may be sent: the query string turns it
    into a space, which is read back as ``+`` (not as another offset)."""
    at_base = "2026-04-17T19:00:00.5+02:00"  # BASE, two hours east
    response = api.get(f"/api/v1/requests?created_after={at_base}")
    assert response.status_code == 200, response.json()
    got = {r["request_id"] for r in response.json()["data"]}
    assert got == {str(pk) for pk, at in rows.items() if at >= BASE}


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    nanos=st.integers(-3000, 3000),
    offset=OFFSETS_MIN,
    digits=st.integers(0, 9),
    param=st.sampled_from(["created_after", "created_before"]),
    bare_plus=st.booleans(),
)
def test_a_space_between_date_and_time_selects_the_same_rows(
    api, rows, nanos, offset, digits, param, bare_plus
):
    """RFC 3339 allows a space for the ``T`` (``parse_instant`` reads it). Only
    a space after the time is an unencoded ``+``: reading the separator as
    ``+`` too lost what ``parse_instant`` does beyond ``fromisoformat`` (a
    fraction finer than a microsecond was cut, so ``created_before=t+0.1µs``
    left out the row at ``t``; a leap second was ``invalid_request``)."""
    text, named = _text(nanos, offset, digits)
    text = text[:10] + " " + text[11:]
    if bare_plus:
        text = text.replace("+", " ")  # an offset's "+" sent unencoded
    _assert_exactly_the_rows(api, rows, param, text, named)


@pytest.mark.parametrize("separator", ["T", " "])
def test_a_leap_second_reads_alike_with_either_separator(api, rows, separator):
    # 16:59:60 is read as 17:00:00 (parse_instant): every row is after it.
    text = f"2026-04-17{separator}16:59:60Z"
    response = api.get("/api/v1/requests", {"created_after": text})
    assert response.status_code == 200, response.json()
    assert {r["request_id"] for r in response.json()["data"]} == {
        str(pk) for pk in rows
    }
