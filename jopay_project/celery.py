"""The Celery app (D24, D30).

Tasks are ``DjangoTask``; services enqueue them with
``jopay_project.tasks.enqueue_on_commit`` (robust: a broker outage never fails
a committed caller).
"""

from __future__ import annotations

import logging
import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import beat_init

from jopay_project import broker_loss

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jopay_project.settings")
broker_loss.install()  # a Redis outage must not stop the worker (its docstring)

app = Celery("jopay_project", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["payments.proofs"])  # proofs + chain watcher tasks
app.autodiscover_tasks(["jopay_project"], related_name="housekeeping")

# Periodic work. Each task is safe to run twice and claims its rows itself.
# Each tick expires after its own interval: while no worker runs, beat keeps
# queueing (about 780 messages an hour), and a worker coming back would work
# through every stale tick, each chain watch making RPC calls, ahead of the
# webhooks and proof checks queued since. A skipped tick costs nothing: the
# next one does the same work.
_HOUR, _DAY = 60 * 60.0, 24 * 60 * 60.0


def _every(task: str, seconds: float) -> dict:
    return {"task": task, "schedule": seconds, "options": {"expires": seconds}}


app.conf.beat_schedule = _SCHEDULE = {
    "expire-due-requests": _every("payments.expire_due_requests", 60.0),
    "refresh-fx-rates": _every("payments.refresh_fx_rates", 30 * 60.0),
    "watch-chains": _every("payments.watch_chains", 15.0),
    "recheck-attached-proofs": _every("payments.recheck_attached_proofs", 30.0),
    "resume-rescans": _every("payments.resume_rescans", 60.0),
    "send-due-webhooks": _every("webhooks.send_due_deliveries", 15.0),
    "send-due-onboarding-emails": _every(
        "merchants.send_due_onboarding_emails", 5 * 60.0
    ),
    "charge-recurring-plans": {
        "task": "recurring.charge_recurring_plans",
        "schedule": crontab(minute=5),
        "options": {"expires": _HOUR},
    },
    "clear-expired-sessions": {
        "task": "jopay.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=47),
        "options": {"expires": _DAY},
    },
    "purge-expired-cache-entries": {
        "task": "jopay.purge_expired_cache_entries",
        "schedule": crontab(minute=35),
        "options": {"expires": _HOUR},
    },
    "purge-old-events": {
        "task": "webhooks.purge_old_events",
        "schedule": crontab(hour=3, minute=17),
        "options": {"expires": _DAY},
    },
}

_TICKED = frozenset(entry["task"] for entry in _SCHEDULE.values())


def _route(name: str, *args, **kwargs) -> dict | None:
    """Every ticked task runs from the periodic queue, so a tick waits behind at
    most the one message each worker child holds, not behind the whole backlog
    (kombu's Redis transport takes turns between non-empty queues).

    A router, read when a task is sent: reading the setting here at import
    (``app.conf``) loaded Django's settings while a settings module that
    imports ours (``from jopay_project.settings import *``) was half-imported.
    """
    if name in _TICKED:
        return {"queue": app.conf.periodic_queue}
    return None


app.conf.task_routes = (_route,)

logger = logging.getLogger("jopay.celery")  # "jopay.*", as OPERATIONS.md says


@beat_init.connect
def refresh_fx_rates_on_beat_start(sender=None, **kwargs) -> None:
    """Send the FX refresh once when beat starts (also ``worker -B``).

    Beat first runs an interval task one interval after it starts, so a fresh
    deploy would have no rate for 30 minutes and every create would answer
    ``fx_unavailable`` (D14). A failed send only costs that head start.
    """
    task = app.conf.beat_schedule["refresh-fx-rates"]["task"]
    try:
        app.send_task(task)
    except Exception:
        logger.exception("beat: could not send %s at start-up", task)
