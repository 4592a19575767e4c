"""Numbers and names of decisions.md that no other test pins (D24, D14, D3,
D31, D35, D36): production defaults, the beat schedule, and the command
options the other command tests do not pass."""

import json
from io import StringIO

from django.core.management import call_command

from jopay_project.celery import app as celery_app
from jopay_project.settings import DEFAULT_FX_FEEDS
from merchants.keys import api_key_authenticate
from merchants.models import ApiKey, PartnerUser
from tests.foundation.deployed import PRODUCTION, deployed_setting


def test_webhook_retry_schedule_default_is_d24():
    # 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 12 h, 12 h, 15 h, 15 h: 11 tries, ~72 h.
    # Read in a process of its own with no JOPAY_* set: the default itself.
    schedule = deployed_setting("JOPAY_WEBHOOK_RETRY_SCHEDULE", **PRODUCTION)
    assert schedule == [60, 300, 1800, 7200, 18000, 36000, 43200, 43200, 54000, 54000]
    assert 70 * 3600 < sum(schedule) < 73 * 3600


def test_timeouts_and_staleness_defaults():
    def default(name):
        return deployed_setting(name, **PRODUCTION)

    assert default("JOPAY_WEBHOOK_TIMEOUT_SECONDS") == 8  # D24: 2xx within 8 s
    assert default("JOPAY_FX_TIMEOUT_SECONDS") == 10  # D14
    assert default("JOPAY_FX_STALE_AFTER_SECONDS") == 24 * 3600  # D14, D36
    # D14: a feed and a fallback (the test settings turn feeds off).
    assert len(DEFAULT_FX_FEEDS) == 2
    assert len(default("JOPAY_FX_FEEDS")) == 2


def test_every_beat_task_is_registered_and_fx_refreshes_every_30_minutes():
    celery_app.loader.import_default_modules()
    schedule = {
        e["task"]: e["schedule"] for e in celery_app.conf.beat_schedule.values()
    }
    assert set(schedule) <= set(celery_app.tasks)
    assert schedule["payments.refresh_fx_rates"] == 30 * 60  # D36
    assert "recurring.charge_recurring_plans" in schedule  # D29/D35: hourly


def test_create_partner_keys_are_unrestricted(db):
    out = StringIO()
    call_command(
        "create_partner", "--slug", "zz-pay", "--name", "Z", "--json", stdout=out
    )
    doc = json.loads(out.getvalue())
    assert api_key_authenticate(doc["live_key"]).scopes is None
    assert api_key_authenticate(doc["test_key"]).scopes is None


def _create_partner_user_chosen_password(partner, email: str, *flags: str) -> StringIO:
    out = StringIO()
    call_command(
        "create_partner_user",
        "--partner",
        partner.slug,
        "--email",
        email,
        "--password",
        "Correct-horse-42",
        *flags,
        stdout=out,
    )
    return out


def test_create_partner_user_password_and_create_api_key_name(partner):
    out = _create_partner_user_chosen_password(partner, "x@y.example", "--json")
    doc = json.loads(out.getvalue())
    # D31: a password is printed only when generated; a chosen one is never echoed.
    assert doc["password"] is None
    assert "Correct-horse-42" not in out.getvalue()
    user = PartnerUser.objects.get(user_id=doc["user_id"]).user
    assert user.check_password("Correct-horse-42")
    out = StringIO()
    call_command(
        "create_api_key",
        "--partner",
        partner.slug,
        "--mode",
        "live",
        "--name",
        "ci key",
        "--json",
        stdout=out,
    )
    assert ApiKey.objects.get(pk=json.loads(out.getvalue())["key_id"]).name == "ci key"


def test_the_schema_is_not_rate_limited(client, db, frozen_clock):
    for _ in range(61):  # one more than any per-key v1 window
        answer = client.get("/api/v1/schema")
        assert answer.status_code == 200
    assert "X-RateLimit-Limit" not in answer.headers


def test_create_partner_user_text_output_never_echoes_a_chosen_password(partner):
    out = _create_partner_user_chosen_password(partner, "ops2@y.example")
    assert "Correct-horse-42" not in out.getvalue()  # D31: printed only when generated
    assert "ops2@y.example can log in" in out.getvalue()
