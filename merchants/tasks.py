"""Celery tasks of the merchants app. Each is safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from .emails import onboarding_email_send, onboarding_emails_due

logger = logging.getLogger("jopay.merchants")


@shared_task(
    name="merchants.send_onboarding_email",
    ignore_result=True,
    soft_time_limit=30,
    time_limit=45,
)
def send_onboarding_email_task(merchant_id: str) -> bool:
    """The onboarding e-mail of one new merchant (``merchants.emails``)."""
    return onboarding_email_send(merchant_id=merchant_id)


@shared_task(
    name="merchants.send_due_onboarding_emails",
    ignore_result=True,
    soft_time_limit=240,
    time_limit=270,
)
def send_due_onboarding_emails_task() -> int:
    """Every 5 minutes: the e-mails whose task was lost or whose send failed."""
    sent = 0
    for merchant_id in onboarding_emails_due():
        try:
            sent += onboarding_email_send(merchant_id=merchant_id)
        except SoftTimeLimitExceeded:
            raise  # out of time: the rest waits for the next run
        except Exception:
            # One bad address or a refusing server must not stop the rest;
            # the row stays unstamped, so the next run tries again.
            logger.exception("onboarding e-mail for merchant %s failed", merchant_id)
    return sent
