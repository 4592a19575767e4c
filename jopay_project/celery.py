"""The Celery app (D24, D30).

Tasks are ``DjangoTask``; services enqueue them with
``jopay_project.tasks.enqueue_on_commit`` (robust: a broker outage never fails
a committed caller).
"""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jopay_project.settings")

app = Celery("jopay_project", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["payments.proofs"])  # proofs + chain watcher tasks

# Periodic work. Each task is safe to run twice and claims its rows itself.
app.conf.beat_schedule = {
    "expire-due-requests": {"task": "payments.expire_due_requests", "schedule": 60.0},
    "refresh-fx-rates": {"task": "payments.refresh_fx_rates", "schedule": 30 * 60.0},
    "watch-chains": {"task": "payments.watch_chains", "schedule": 15.0},
    "recheck-attached-proofs": {
        "task": "payments.recheck_attached_proofs",
        "schedule": 30.0,
    },
    "resume-rescans": {"task": "payments.resume_rescans", "schedule": 60.0},
    "send-due-webhooks": {"task": "webhooks.send_due_deliveries", "schedule": 15.0},
    "charge-recurring-plans": {
        "task": "recurring.charge_recurring_plans",
        "schedule": crontab(minute=5),
    },
    "purge-old-events": {
        "task": "webhooks.purge_old_events",
        "schedule": crontab(hour=3, minute=17),
    },
}
