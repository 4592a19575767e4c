"""Dashboard reads (spec §12.5): verified volume, outstanding value, a daily chart.

Everything is read through the tenant (D10). Money stays integer: fiat sums in
minor units of the partner's default currency, USDC sums in micro-USDC. A
request in another currency is counted in the default currency through the
current USDC rate of the default currency (D35's rule for amount limits), and
the figure is then marked approximate. The chart is an inline SVG computed
here, so the page needs no JavaScript library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from jopay_project.tenancy import Tenant
from payments.models import PaymentRequest
from payments.money import format_minor, group_usdc, usdc_micro_to_fiat_int
from payments.selectors import fx_rates_effective
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.selectors import delivery_list, webhook_endpoint_get

from .present import request_row

CHART_DAYS = 30
CHART_WIDTH = 600
CHART_HEIGHT = 160
RECENT = 8

PR = PaymentRequest


@dataclass
class Money:
    """A fiat total in the default currency plus the exact USDC behind it."""

    currency: str
    fiat_int: int = 0
    usdc_micro: int = 0
    count: int = 0
    approximate: bool = False  # some of it was converted from other currencies
    unconverted: int = 0  # requests that could not be converted (no rate)

    @property
    def fiat(self) -> str:
        return format_minor(self.fiat_int, self.currency)

    @property
    def usdc(self) -> str:
        return group_usdc(self.usdc_micro)


def _total(rows: list[dict], currency: str, rate) -> Money:
    """Fold per-currency ``{fiat_code, fiat, usdc, n}`` rows into one ``Money``."""
    money = Money(currency=currency)
    for row in rows:
        money.count += row["n"]
        money.usdc_micro += row["usdc"] or 0
        if row["fiat_code"] == currency:
            money.fiat_int += row["fiat"] or 0
        elif rate is not None:
            money.fiat_int += usdc_micro_to_fiat_int(row["usdc"] or 0, currency, rate)
            money.approximate = True
        else:
            money.unconverted += row["n"]
    return money


def _grouped(qs) -> list[dict]:
    return list(
        qs.values("fiat_code")
        .order_by("fiat_code")
        .annotate(fiat=Sum("fiat_int"), usdc=Sum("usdc_micro"), n=Count("id"))
    )


@dataclass
class Bar:
    day: date
    x: float
    y: float
    width: float
    height: float
    label: str
    usdc_micro: int = 0


@dataclass
class Chart:
    bars: list[Bar] = field(default_factory=list)
    max_label: str = "0"
    first_day: date | None = None
    last_day: date | None = None
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    empty: bool = True


def _days_back(now: datetime, days: int) -> datetime:
    """The start (UTC midnight) of the window of ``days`` UTC days ending today.

    The 7- and 30-day cards and the chart all use these windows, so the
    30-day card is the sum of the chart's bars. (A rolling ``now - 30 days``
    card counted payments of a day the chart does not show.)
    """
    first = now.astimezone(UTC).date() - timedelta(days=days - 1)
    return datetime.combine(first, datetime.min.time(), tzinfo=UTC)


def _chart(tenant: Tenant, now: datetime) -> Chart:
    """Verified USDC per UTC day for the last ``CHART_DAYS`` days, as SVG bars."""
    today = now.astimezone(UTC).date()
    since = _days_back(now, CHART_DAYS)
    first = since.date()
    per_day = {
        row["day"]: row["usdc"] or 0
        for row in PR.objects.for_tenant(tenant)
        .filter(proof_status=PR.ProofStatus.VERIFIED, verified_at__gte=since)
        .annotate(day=TruncDate("verified_at", tzinfo=UTC))
        .values("day")
        .order_by("day")
        .annotate(usdc=Sum("usdc_micro"))
    }
    peak = max(per_day.values(), default=0)
    slot = CHART_WIDTH / CHART_DAYS
    chart = Chart(
        max_label=group_usdc(peak), first_day=first, last_day=today, empty=peak == 0
    )
    for i in range(CHART_DAYS):
        day = first + timedelta(days=i)
        value = per_day.get(day, 0)
        # Integer money, float only for pixel geometry; a non-zero day stays visible.
        height = (value / peak) * (CHART_HEIGHT - 4) if peak else 0.0
        if value and height < 2:
            height = 2.0
        chart.bars.append(
            Bar(
                day=day,
                x=round(i * slot + 1, 2),
                y=round(CHART_HEIGHT - height, 2),
                width=round(slot - 2, 2),
                height=round(height, 2),
                label=f"{day.isoformat()}: {group_usdc(value)} USDC",
                usdc_micro=value,
            )
        )
    return chart


# Up to this many events in the window, deliveries are counted by probing
# each event's delivery; past it the tenant is a large share of the platform's
# week and one pass over the week's deliveries (``delivery_created``) is cheaper.
PROBE_EVENTS = 5000


def _delivery_states(
    tenant: Tenant, endpoint: WebhookEndpoint, now: datetime
) -> dict[str, int]:
    """The tenant's deliveries of the last 7 days, counted by state.

    Filtered on the delivery's partner and ``created_at`` alone, the planner
    intersected the partner index with ``delivery_created``: every partner's
    deliveries of the 7 days (78 k index entries on 1 M deliveries to count a
    partner's 119), growing with the platform. A tenant with at most
    ``PROBE_EVENTS`` events in the window is counted from those events
    (``event_tenant_keyset``), each probing its one delivery to the endpoint
    (the ``(event, endpoint)`` unique index); a delivery is written in its
    event's transaction (``events._after_emit``), so the event's time is the
    delivery's. No index is added to the delivery table (every send would pay
    for it).
    """
    since = now - timedelta(days=7)
    events = WebhookEvent.objects.for_tenant(tenant).filter(created_at__gte=since)
    if not events.order_by()[PROBE_EVENTS : PROBE_EVENTS + 1].exists():
        state = (
            WebhookDelivery.objects.for_tenant(tenant)
            .filter(event=OuterRef("pk"), endpoint=endpoint)
            .order_by()
            .values("state")[:1]
        )
        rows = (
            events.order_by()
            .annotate(state=Subquery(state))
            .values_list("state")
            .annotate(n=Count("id"))
        )
    else:
        rows = (
            delivery_list(tenant=tenant)
            .filter(created_at__gte=since)
            .order_by()
            .values_list("state")
            .annotate(n=Count("id"))
        )
    return {state: n for state, n in rows if state is not None}


def _recent_deliveries(
    tenant: Tenant, endpoint: WebhookEndpoint
) -> list[WebhookDelivery]:
    """The deliveries of the tenant's latest ``RECENT`` events that have one.

    Walked in ``event_tenant_keyset`` order, each event probing its delivery
    (the ``(event, endpoint)`` unique index): the tenant's latest deliveries
    by ``delivery_created`` walked the platform's deliveries back to the
    tenant's eighth latest (755 ms, 668 k rows, for a partner quiet for 60
    days on 1 M deliveries). Like the webhooks page's log, this reaches back
    as far as events are kept (30 days, D36).
    """
    # A probe on the event and the endpoint alone: both are the tenant's (the
    # delivery's partner and mode are its event's), and with them the planner
    # multiplied the partner's and the endpoint's shares of the table (the
    # same rows), expected a few hundred deliveries and read every delivery
    # the tenant ever had, then sorted (45 ms at 10 k of 200 k deliveries).
    # The deliveries read below are scoped to the tenant again.
    has_delivery = WebhookDelivery.objects.filter(  # tenancy: ok (see above)
        event=OuterRef("pk"), endpoint=endpoint
    )
    events = list(
        WebhookEvent.objects.for_tenant(tenant)
        .filter(Exists(has_delivery))
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)[:RECENT]
    )
    if not events:
        return []
    return list(
        delivery_list(tenant=tenant).filter(endpoint=endpoint, event_id__in=events)
    )


@dataclass
class Dashboard:
    currency: str
    verified_7d: Money
    verified_30d: Money
    outstanding: Money
    chart: Chart
    recent: list[dict]
    endpoint: WebhookEndpoint | None
    deliveries: list[WebhookDelivery]
    delivery_states: dict[str, int]


def dashboard_for(tenant: Tenant, *, now: datetime | None = None) -> Dashboard:
    """Every figure of the dashboard for ``tenant`` (its partner and mode)."""
    now = now or timezone.now()
    currency = tenant.partner.default_currency
    rate_row = fx_rates_effective(tenant.partner, [currency])[currency]
    rate = rate_row.rate if rate_row is not None else None
    requests = PR.objects.for_tenant(tenant)
    verified = requests.filter(proof_status=PR.ProofStatus.VERIFIED)
    outstanding = requests.filter(
        status__in=PR.OPEN_STATUSES, expires_at__gt=now
    ).exclude(proof_status=PR.ProofStatus.VERIFIED)
    endpoint = webhook_endpoint_get(partner=tenant.partner)
    deliveries = _recent_deliveries(tenant, endpoint) if endpoint else []
    states = _delivery_states(tenant, endpoint, now) if endpoint else {}
    v7 = _grouped(verified.filter(verified_at__gte=_days_back(now, 7)))
    v30 = _grouped(verified.filter(verified_at__gte=_days_back(now, CHART_DAYS)))
    return Dashboard(
        currency=currency,
        verified_7d=_total(v7, currency, rate),
        verified_30d=_total(v30, currency, rate),
        outstanding=_total(_grouped(outstanding), currency, rate),
        chart=_chart(tenant, now),
        recent=[
            request_row(pr)
            for pr in verified.select_related("merchant").order_by(
                "-verified_at", "-id"
            )[:RECENT]
        ],
        endpoint=endpoint,
        deliveries=deliveries,
        delivery_states=states,
    )


__all__ = ["Dashboard", "Money", "dashboard_for"]
