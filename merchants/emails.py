"""The onboarding e-mail (spec §5.1: creating a merchant "sends an onboarding
e-mail"): the merchant's link, from its partner's name, once.

Owed (``onboarding_email_due``, set by the create) to a live merchant
created without a wallet and with an ``email`` while sending was on, never
to one made before. Sent by a task enqueued when the create commits and,
for one lost on the way (broker down, SMTP refusing), by the sweeper every
5 minutes while the first link would still be valid (7 days). Each send
holds a lock of its own on the merchant (a PostgreSQL advisory lock, not the
row's: a slow relay must not hold up the partner's PATCH or the merchant
finishing onboarding) and stamps ``onboarding_email_sent_at`` before letting
it go: two runs never both send, and a send that failed (or a worker that
died mid-send, whose connection drops the lock) leaves the row unstamped for
the next run: at least once. An address refused for good (5xx) is given up after
``EMAIL_MAX_TRIES``; relay trouble is retried while the link lives. The
sweeper takes the fewest-tried first, so bad addresses never starve new
merchants.

The link is rebuilt from the row at send time (``merchant_onboarding_link``),
so no token ever travels through the broker. Off unless e-mail is configured
(``EMAIL_HOST``, or the console backend under ``DEBUG``):
``JOPAY_ONBOARDING_EMAIL``.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from .models import Merchant
from .onboarding_links import ONBOARDING_LINK_LIFETIME, merchant_onboarding_link
from .validation import shown_text

logger = logging.getLogger("jopay.merchants")

SWEEP_BATCH = 100
EMAIL_MAX_TRIES = 6  # the first, then five sweeps: about half an hour


def _due() -> QuerySet[Merchant]:
    return Merchant.objects.filter(
        onboarding_email_due=True,
        onboarding_email_sent_at__isnull=True,
        onboarding_email_tries__lt=EMAIL_MAX_TRIES,
        onboarding_status=Merchant.OnboardingStatus.INCOMPLETE,
        disabled=False,
        partner__is_active=True,
        created_at__gt=timezone.now() - ONBOARDING_LINK_LIFETIME,
    ).exclude(email="")


def onboarding_email_send(*, merchant_id: uuid.UUID | str) -> bool:
    """Send ``merchant_id``'s onboarding e-mail if it is still due; ``True`` if sent.

    Raises what the mail backend raises; the try is counted, nothing else is
    written then.
    """
    if not settings.JOPAY_ONBOARDING_EMAIL:
        return False
    try:
        return _send(merchant_id)
    except Exception as exc:
        if _refused_for_good(exc):
            Merchant.objects.filter(pk=merchant_id).update(
                onboarding_email_tries=F("onboarding_email_tries") + 1
            )
        raise


def _refused_for_good(exc: Exception) -> bool:
    """Whether this failure is the address's (counted), not the relay's.

    Only a permanent (5xx) refusal of the recipient or the message, or a
    header no relay takes, counts towards ``EMAIL_MAX_TRIES``. A relay down,
    slow or answering 4xx, refusing our credentials or our From address (and
    the sweep's own time limit) said nothing about the merchant: counted,
    half an hour of relay trouble gave up every mail owed meanwhile, although
    each link lives 7 days (the lifetime that bounds these retries instead).
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPSenderRefused):
        # Our credentials or our From address, the same for every mail: a
        # wrong password for half an hour gave up every mail owed meanwhile.
        return False
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    # OSError covers the rest of smtplib's errors (disconnects, timeouts).
    return not isinstance(exc, OSError | SoftTimeLimitExceeded)


# Namespace (first key) of the advisory lock a send holds on its merchant;
# the second key is a hash of the merchant id (a collision only makes one of
# two sends wait for the next sweep). payments' amount locks use 0x4A50.
EMAIL_LOCK_CLASS = 0x4A45


def _send(merchant_id: uuid.UUID | str) -> bool:
    """Send the e-mail if it is still due and no other run is sending it.

    The relay is talked to holding no row lock and no transaction of our own:
    under the merchant's row lock (as this once was), every write of the
    merchant waited for the relay, up to the task's time limit. On PostgreSQL
    an advisory lock keeps two runs apart instead; inside a caller's
    transaction it is the transaction's, so the stamp commits before another
    run can look. SQLite (the embedded default) has none: a transaction there
    admits one writer at a time, so sends serialise as before.
    """
    if connection.vendor != "postgresql":
        with transaction.atomic():
            return _send_now(merchant_id)
    in_transaction = connection.in_atomic_block
    key = [EMAIL_LOCK_CLASS, str(merchant_id)]
    take = "pg_try_advisory_xact_lock" if in_transaction else "pg_try_advisory_lock"
    locked = False
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {take}(%s, hashtext(%s))", key)
            locked = cursor.fetchone()[0]
        if not locked:
            return False  # being sent now
        return _send_now(merchant_id)
    finally:
        # Given back even when the task's soft time limit interrupts the send:
        # a worker keeps its connection, and the lock with it, for a while.
        if locked and not in_transaction:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", key)


def _name(value: str) -> str:
    """A name for the e-mail: whitespace runs (line breaks too) as one space,
    and (D22) without the bidi controls names stored before the rule carry, as
    the pay and onboarding pages show them."""
    return shown_text(" ".join(value.split()))


def _send_now(merchant_id: uuid.UUID | str) -> bool:
    merchant = _due().select_related("partner").filter(pk=merchant_id).first()
    if merchant is None:
        return False  # sent, completed, disabled or expired
    link = merchant_onboarding_link(merchant=merchant)
    if link is None:
        return False
    partner_name = _name(merchant.partner.name)
    context = {
        "merchant": merchant,
        "partner": merchant.partner,
        "link": link,
        # The name the pages show first; a merchant created with only a
        # display_name was greeted "Hello,".
        "business_name": _name(merchant.business_name or merchant.display_name),
        "partner_name": partner_name,
    }
    send_mail(
        # A line break in a header is refused (BadHeaderError) for ever.
        subject=" ".join(f"{partner_name}: finish setting up your payments".split()),
        message=render_to_string("merchants/onboarding_email.txt", context),
        from_email=None,  # DEFAULT_FROM_EMAIL
        recipient_list=[merchant.email],
    )
    # Stamped only while the address is the one mailed: a partner's PATCH
    # correcting it during the send (``email_address_changed``) leaves the
    # e-mail owed to the new address, as the docs promise until it was sent.
    stamped = Merchant.objects.filter(pk=merchant.pk, email=merchant.email).update(
        onboarding_email_sent_at=timezone.now()
    )
    logger.info(
        "onboarding e-mail sent for merchant %s%s",
        merchant.pk,
        "" if stamped else " (address changed meanwhile: owed to the new one)",
    )
    return True


def onboarding_emails_due(*, limit: int | None = None) -> list[str]:
    """Merchants whose e-mail is due and was not sent within a minute of creation."""
    if not settings.JOPAY_ONBOARDING_EMAIL:
        return []
    grace = timezone.now() - timedelta(minutes=1)  # the create's own task first
    return [
        str(pk)
        for pk in _due()
        .filter(created_at__lt=grace)
        .order_by("onboarding_email_tries", "created_at")
        .values_list("pk", flat=True)[: limit or SWEEP_BATCH]
    ]
