"""D31: ``create_partner --webhook-url`` is all or nothing.

A refused URL (D26) must leave no partner and no keys behind, so the operator
can fix the URL and run the very same command again.
"""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from merchants.keys import api_key_authenticate
from merchants.models import ApiKey, Partner
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

GOOD_URL = "https://127.0.0.1:8443/jopay/webhooks"  # a local receiver (tests allow it)


def create_partner(*extra: str) -> dict:
    out = StringIO()
    call_command(
        "create_partner",
        "--slug",
        "acme-pay",
        "--name",
        "Acme",
        *extra,
        "--json",
        stdout=out,
    )
    return json.loads(out.getvalue())


def nothing_written() -> bool:
    return not (
        Partner.objects.exists()
        or ApiKey.objects.exists()
        or WebhookEndpoint.objects.exists()
    )


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/hooks", "ftp://example.com/hooks", "https://", "not a url"],
)
def test_a_bad_webhook_url_writes_nothing_and_exits_non_zero(url):
    with pytest.raises(CommandError) as refused:
        create_partner("--webhook-url", url)

    assert refused.value.returncode != 0
    message = str(refused.value)
    assert "--webhook-url" in message
    assert "invalid_webhook_url" in message
    assert nothing_written()


def test_a_private_webhook_host_in_production_writes_nothing(settings):
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = False

    with pytest.raises(CommandError, match="invalid_webhook_url"):
        create_partner("--webhook-url", "https://10.0.0.5/hooks")

    assert nothing_written()


def test_the_corrected_command_succeeds_after_a_refusal():
    with pytest.raises(CommandError):
        create_partner("--webhook-url", "http://127.0.0.1/hooks")

    out = create_partner("--webhook-url", GOOD_URL)

    assert Partner.objects.get().slug == out["slug"] == "acme-pay"


def test_a_good_webhook_url_creates_the_partner_with_webhooks_enabled():
    out = create_partner("--webhook-url", GOOD_URL)

    partner = Partner.objects.get(pk=out["partner_id"])
    endpoint = WebhookEndpoint.objects.get(partner=partner)
    assert (endpoint.url, endpoint.enabled) == (GOOD_URL, True)
    assert endpoint.enabled_at is not None
    assert re.fullmatch(r"[0-9a-f]{64}", out["webhook_secret"])
    assert endpoint.secret == out["webhook_secret"]
    assert api_key_authenticate(out["live_key"]).partner == partner
    assert api_key_authenticate(out["test_key"]).test_mode is True


def test_a_refused_url_logs_no_key_creation(caplog, django_capture_on_commit_callbacks):
    # The audit log line used to be written before the transaction ended: an
    # operator grepping `api_key.created` saw keys that were rolled back.
    caplog.set_level("INFO", logger="jopay.audit")
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(CommandError),
    ):
        create_partner("--webhook-url", "http://127.0.0.1/hooks")
    assert "api_key.created" not in caplog.text
    assert nothing_written()


def test_a_created_partner_logs_its_two_keys(
    caplog, django_capture_on_commit_callbacks
):
    caplog.set_level("INFO", logger="jopay.audit")
    with django_capture_on_commit_callbacks(execute=True):
        create_partner()
    assert caplog.text.count("action=api_key.created") == 2
