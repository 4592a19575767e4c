"""FX rates (D14, D31, D36): the rate a request uses, manual pins, feed refresh.

A rate is "fiat units per 1 USDC" (``Decimal``, 18 places). Each currency has
one global row and optional per-partner override rows. Manual rates
(``source="manual"``) are pinned: feeds never overwrite them and they never go
stale. Any other rate older than ``JOPAY_FX_STALE_AFTER_SECONDS`` (24 h) is
unusable, and so is a missing one: both answer ``fx_unavailable``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from merchants.audit import audit_record, current_actor
from merchants.models import AuditEntry, Partner
from payments import fx as feeds
from payments.models import FxRate
from payments.money import (
    RATE_MAX,
    RATE_MIN,
    SUPPORTED_CURRENCIES,
    is_supported,
    rate_in_range,
    rate_to_scaled_int,
)
from payments.selectors import fx_rate_is_stale, fx_rates_effective

logger = logging.getLogger("jopay.fx")

MANUAL_SOURCE = "manual"


def fx_rate_for(partner: Partner | None, currency: str) -> FxRate:
    """The usable rate for ``currency``: partner override first, else global (D14).

    Raises ``JoPayError(fx_unavailable)`` when there is none or it is stale.
    """
    return fx_rate_usable(fx_rates_effective(partner, [currency])[currency])


def fx_rate_usable(rate: FxRate | None) -> FxRate:
    """``rate`` when it exists and is not stale, else ``fx_unavailable`` (D14, D36)."""
    if rate is None or fx_rate_is_stale(rate):
        raise JoPayError(ErrorCode.FX_UNAVAILABLE)
    return rate


def _check_manual(currency: str, rate: Decimal) -> None:
    if not is_supported(currency):
        raise ValueError(f"{currency!r} is not one of the 28 supported currencies")
    try:
        rate_to_scaled_int(rate)  # positive, finite, at most 18 places, else ValueError
        plausible = rate_in_range(rate)
    except ArithmeticError:
        # D31: scaling 1e999999999 by 10**18 raised decimal.Overflow, a
        # traceback out of set_fx_rate instead of its one-line error. Such a
        # rate is far out of range; so is 1e-999999999, which scales to 0.
        plausible = False
    if not plausible:
        raise ValueError(
            f"{rate} is not a plausible rate: at least {RATE_MIN} and below {RATE_MAX} "
            "fiat units per USDC"
        )


# Namespace of the advisory lock that serialises writes of rate rows (tags.py
# uses 0x4A50 for receiving addresses).
FX_LOCK_CLASS = 0x4A51


def _lock_rate_writes() -> None:
    """Serialise this transaction's rate writes with every other one's.

    Row locks cannot guard a row that does not exist yet: two refreshes (or a
    refresh and ``set_fx_rate``) adding the same currency both INSERTed, and
    the loser's unique-index error crashed its refresh. Held until commit.
    SQLite allows one writer at a time anyway.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [FX_LOCK_CLASS])


# A manual rate this far from the global one is more likely a typo (or the
# inverse: USD per EUR for EUR per USDC) than a market: the portal and the
# admin ask for a second look before pinning it.
RATE_CHECK_TOLERANCE = Decimal("0.10")


def fx_rate_needs_second_look(*, currency: str, rate: Decimal) -> Decimal | None:
    """How far ``rate`` is from the global rate (0.3 = 30 %) when that is more
    than ``RATE_CHECK_TOLERANCE``; else (or with no global rate) ``None``.

    The portal's and the admin's manual-rate forms ask for a tick then.
    """
    reference = (
        FxRate.objects.filter(currency=currency, partner__isnull=True)
        .values_list("rate", flat=True)
        .first()
    )
    if not reference:
        return None
    off = abs(rate / reference - 1)
    return off if off > RATE_CHECK_TOLERANCE else None


@transaction.atomic
def fx_rate_set_manual(
    *, currency: str, rate: Decimal, partner: Partner | None = None
) -> FxRate:
    """Store a pinned manual rate (global, or ``partner``'s override) (D31).

    Raises ``ValueError`` for an unsupported currency or a rate that is not a
    positive ``Decimal`` with at most 18 places. Feeds never overwrite it.
    """
    _check_manual(currency, rate)
    _lock_rate_writes()
    row, _ = FxRate.objects.select_for_update().update_or_create(
        currency=currency,
        partner=partner,
        defaults={
            "rate": rate,
            "source": MANUAL_SOURCE,
            "pinned": True,
            "fetched_at": timezone.now(),
        },
    )
    audit_record(
        partner=partner,
        action="fx_rate.pinned",
        target=currency,
        details={"rate": str(rate)},
    )
    return row


@transaction.atomic
def fx_rate_clear_manual(*, currency: str, partner: Partner | None = None) -> bool:
    """Undo ``fx_rate_set_manual``; returns whether there was a pin to clear.

    A partner override is deleted: the partner gets the global rate again, the
    one every other partner has been using meanwhile. The global row is
    unpinned but kept, with ``fetched_at`` set to now: the pin was in force
    until this moment, so the rate stays usable for the next 24 h (or until a
    refresh overwrites it), however old the pin was. Clearing a global pin
    therefore never opens a gap (D14).
    """
    if not is_supported(currency):
        raise ValueError(f"{currency!r} is not one of the 28 supported currencies")
    if partner is not None:
        cleared = (
            FxRate.objects.filter(currency=currency, partner=partner).delete()[0] > 0
        )
    else:
        # fetched_at = now: a pin set three days ago kept its fetched_at, so the
        # unpinned rate was stale at once and every create answered fx_unavailable.
        cleared = (
            FxRate.objects.filter(
                currency=currency, partner__isnull=True, pinned=True
            ).update(pinned=False, fetched_at=timezone.now())
            > 0
        )
    if cleared:
        audit_record(partner=partner, action="fx_rate.unpinned", target=currency)
    return cleared


@dataclass
class FxRefreshResult:
    """What a refresh did (or, with ``dry_run``, would do)."""

    source: str | None = None  # the feed that answered; None when all failed
    changed: dict[str, tuple[Decimal | None, Decimal]] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    skipped_pinned: list[str] = field(default_factory=list)
    # Rows a refresh fetched later had already stored when this one got the
    # lock: its older rates are not written over them.
    skipped_newer: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Supported currencies no feed gave and no global pin covers: their rates
    # go stale 24 h after the last one (then fx_unavailable).
    missing: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.source is not None


def fx_refresh(
    *,
    dry_run: bool = False,
    feed_urls: list[str] | None = None,
    timeout: float | None = None,
) -> FxRefreshResult:
    """Fetch rates from the first working feed of ``JOPAY_FX_FEEDS`` and store them.

    Guarantees: feeds are tried in order, each with ``JOPAY_FX_TIMEOUT_SECONDS``
    and two tries (D14); a currency the answering feed lacks (the ECB has no
    AED, ARS, CLP, COP or PEN) is asked of the next feeds, as if the feed had
    failed for it, and each row records the feed it came from; network I/O
    happens before the transaction; pinned rates are never overwritten; when
    every feed fails nothing is written and the last good rates stay. Every
    written row records ``source`` and ``fetched_at``. Never raises for feed
    trouble: see ``result.errors``. ``timeout`` (seconds per try) replaces
    the setting for a caller that must answer sooner (the admin's button).
    """
    result = FxRefreshResult(dry_run=dry_run)
    urls = settings.JOPAY_FX_FEEDS if feed_urls is None else feed_urls
    timeout = timeout or settings.JOPAY_FX_TIMEOUT_SECONDS
    answers: list[feeds.FeedRates] = []
    missing = set(SUPPORTED_CURRENCIES)
    for url in urls:
        try:
            answer = feeds.fetch_feed(url, timeout=timeout)
        except feeds.FeedError as exc:
            result.errors.append(str(exc))
            continue
        answers.append(answer)
        missing -= set(answer.rates)
        if not missing:
            break
    if not answers:
        if not urls:
            # Pinned rates only, as the operator chose (README): nothing failed,
            # so no ERROR line for the alert OPERATIONS.md sets on it.
            result.errors.append("JOPAY_FX_FEEDS is empty")
            logger.info("fx refresh: JOPAY_FX_FEEDS is empty (pinned rates only)")
            return result
        logger.error(
            "fx refresh: every feed failed; keeping the last good rates: %s",
            "; ".join(result.errors),
        )
        return result
    result.source = answers[0].source
    ordered = answers[::-1]  # the first feed that gives a currency gives it
    rates = {code: rate for answer in ordered for code, rate in answer.rates.items()}
    sources = {code: answer.source for answer in ordered for code in answer.rates}
    fetched = feeds.FeedRates(source=result.source, rates=rates)
    _store(fetched, result, fetched_at=timezone.now(), sources=sources)
    _report_missing(result, missing)
    return result


def _report_missing(result: FxRefreshResult, missing: set[str]) -> None:
    """Name the currencies no feed gave and no pin covers (D14): they went
    stale in silence, no "every feed failed" line among the logs."""
    pinned = FxRate.objects.filter(partner__isnull=True, pinned=True)
    result.missing = sorted(missing - set(pinned.values_list("currency", flat=True)))
    if result.missing:
        logger.warning(
            "fx refresh: no feed gave %s; each goes stale 24 h after its last "
            "rate (pin one with set_fx_rate)",
            ", ".join(result.missing),
        )


@transaction.atomic
def _store(
    fetched: feeds.FeedRates,
    result: FxRefreshResult,
    *,
    fetched_at: datetime,
    sources: dict[str, str] | None = None,
) -> None:
    """Write ``fetched`` stamped with when it was fetched, not when stored,
    each rate with its feed (``sources``, else ``fetched.source``).

    Two refreshes can overlap (the beat and an operator's, or a slow feed):
    the one fetched first may reach the lock last. Its rates are older, so a
    row a later fetch already wrote keeps that fetch's rate and time.
    """
    sources = sources or {}
    _lock_rate_writes()
    now = fetched_at
    existing = {
        r.currency: r
        for r in FxRate.objects.select_for_update().filter(
            partner__isnull=True, currency__in=list(fetched.rates)
        )
    }
    for currency, rate in sorted(fetched.rates.items()):
        source = sources.get(currency, fetched.source)
        row = existing.get(currency)
        if row is not None and row.pinned:
            result.skipped_pinned.append(currency)
            continue
        if row is not None and row.fetched_at > fetched_at:
            result.skipped_newer.append(currency)
            continue
        if row is not None and row.rate == rate:
            result.unchanged.append(currency)
        else:
            result.changed[currency] = (row.rate if row else None, rate)
        if result.dry_run:
            continue
        if row is None:
            FxRate.objects.create(
                currency=currency,
                partner=None,
                rate=rate,
                source=source,
                pinned=False,
                fetched_at=now,
            )
        else:
            # Same rate still refreshes fetched_at: the rate was confirmed now.
            row.rate, row.source, row.fetched_at = rate, source, now
            row.save(update_fields=["rate", "source", "fetched_at"])
    if not result.dry_run and current_actor()[0] != AuditEntry.ActorKind.SYSTEM:
        # A refresh staff or an operator asked for is audited (spec §8); the
        # scheduled one every 30 minutes is not.
        audit_record(
            partner=None,
            action="fx_rate.refreshed",
            target=fetched.source,
            details={
                c: [str(o) if o else None, str(n)]
                for c, (o, n) in result.changed.items()
            },
        )
