"""FX feed refresh (D14, D36): fetch the feeds of ``JOPAY_FX_FEEDS``, store
their rates under the rate-writes lock, never over a pin or a newer fetch."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from merchants.audit import audit_record, current_actor
from merchants.models import AuditEntry
from payments import fx as feeds
from payments.models import FxRate
from payments.money import SUPPORTED_CURRENCIES

from .fx import lock_rate_writes

logger = logging.getLogger("jopay.fx")


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
    lock_rate_writes()
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
