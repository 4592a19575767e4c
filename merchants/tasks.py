"""Celery tasks of the merchants app. Each is safe to run twice."""

from __future__ import annotations

import logging
from time import monotonic

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from .emails import onboarding_email_send, onboarding_emails_due

logger = logging.getLogger("jopay.merchants")

# The sweep starts no send after this, so it ends before its soft limit (240 s)
# with room for one slow send. Cut off by the limit in the middle of a send, a
# mail the relay had already accepted was never stamped and went out again at
# the next sweep. What is left waits for the next sweep, 5 minutes later.
SWEEP_BUDGET_SECONDS = 120.0


# A send may wait EMAIL_TIMEOUT (10 s) at each step of the SMTP dialogue
# (connect, EHLO, STARTTLS, EHLO, AUTH, MAIL, RCPT, DATA, its end, QUIT): the
# soft limit lets the slowest one finish. At 30 s it could cut in after the
# relay had accepted the mail, before the send was stamped, and the sweep then
# sent it again.
SMTP_STEPS = 10


@shared_task(
    name="merchants.send_onboarding_email",
    ignore_result=True,
    soft_time_limit=SMTP_STEPS * 10 + 5,
    time_limit=SMTP_STEPS * 10 + 20,
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
    started = monotonic()
    for merchant_id in onboarding_emails_due():
        if monotonic() - started >= SWEEP_BUDGET_SECONDS:
            break  # the rest waits for the next sweep
        try:
            sent += onboarding_email_send(merchant_id=merchant_id)
        except SoftTimeLimitExceeded:
            raise  # out of time: the rest waits for the next run
        except Exception:
            # One bad address or a refusing server must not stop the rest;
            # the row stays unstamped, so the next run tries again.
            logger.exception("onboarding e-mail for merchant %s failed", merchant_id)
    return sent
