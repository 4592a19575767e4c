"""Every documented ``curl`` runs, and the answer shown under it is real (D1, D2, D35).

``test_examples`` holds the annotated create and read examples to exactly the
live keys. This covers the rest: every ``curl`` on every API page (the
quickstart's run in ``test_quickstart_live``) is sent as written — method,
path and query, headers, body; the docs' ids swapped for real ones — and must
succeed, or fail with the code the example shows. The JSON block shown after
it may be shortened, but every key in it must exist in the live answer, with
a value of the same type and format (a timestamp with milliseconds and ``Z``,
a lower-case UUID, a string of digits, …).
"""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from eth_account import Account

from recurring.services.charging import plans_charge_due
from tests.factories import MerchantFactory, make_key
from webhooks.delivery import deliver
from webhooks.models import WebhookEvent

from .blocks import Curl, page_blocks, parse_curl, value_mismatches

DOC_MERCHANT_ID = "3f6c1b2e-8d4a-4e0b-9c71-2a5d8e4f9b10"
DOC_REQUEST_ID = "8a1e4c77-2b3d-4f6a-9e58-0c7d1b2a3f45"
DOC_PLAN_ID = "2c8e6a4f-1b3d-4c5e-9f7a-8b0d2e4c6a18"
DOC_EVENT_ID = "e7a3b5d1-9c2f-4e8a-a6b0-4d1c3f5e7a92"
# In the order of the sidebar, as a reader goes through them. The quickstart's
# commands chain shell variables and pipes; test_quickstart_live runs them.
SLUGS = ("", "authentication", "requests", "merchants", "recurring", "fx", "events")
SLUGS += ("rate-limits", "errors", "patterns")


def documented_calls() -> list[tuple[str, Curl, dict | None]]:
    """(page, the curl, the JSON block right after it, if any)."""
    calls = []
    for slug in SLUGS:
        blocks = page_blocks(slug)
        for i, block in enumerate(blocks):
            if block.lang != "bash" or not block.code.lstrip().startswith("curl "):
                continue
            if "$JOPAY_URL/api/" not in block.code:
                continue
            after = blocks[i + 1] if i + 1 < len(blocks) else None
            shown = json.loads(after.code) if after and after.lang == "json" else None
            calls.append((slug, parse_curl(block.code.strip()), shown))
    return calls


def unknown_keys(documented, live, prefix: str = "") -> list[str]:
    """Keys of ``documented`` (recursively) missing from the live answer."""
    missing = []
    if isinstance(documented, dict) and isinstance(live, dict):
        for key, value in documented.items():
            if key not in live:
                missing.append(prefix + key)
            else:
                missing += unknown_keys(value, live[key], f"{prefix}{key}.")
    elif (
        isinstance(documented, list) and documented and isinstance(live, list) and live
    ):
        # (an empty live list has nothing to compare with)
        missing += unknown_keys(documented[0], live[0], f"{prefix}[].")
    return missing


@pytest.fixture
def world(partner, fx_rates, monkeypatch):
    """Real rows for the docs' ids; webhooks not yet set up (the docs' PUT is)."""
    from webhooks import urlsafety

    # The docs' webhook host is a placeholder that resolves nowhere: let it
    # resolve to loopback, so the URL is accepted and a delivery attempt fails
    # fast without leaving the machine.
    real_resolve = urlsafety.resolve
    monkeypatch.setattr(
        urlsafety,
        "resolve",
        lambda host, port: (
            ["127.0.0.1"] if host.endswith(".example.com") else real_resolve(host, port)
        ),
    )
    merchant = MerchantFactory(
        partner=partner, test_mode=False, wallet_address=Account.create().address
    )
    key = make_key(partner, test_mode=False)
    return {"partner": partner, "merchant": merchant, "key": key}


def create(api, merchant) -> str:
    response = api.post(
        "/api/v1/requests/create",
        {
            "merchant_id": str(merchant.pk),
            "fiat_amount_int": 2500,
            "metadata": {"order_id": "A-1001"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["request_id"]


def test_every_documented_curl_answers_what_the_docs_show(world):
    from rest_framework.test import APIClient

    merchant, key = world["merchant"], world["key"]
    keyed = APIClient()
    keyed.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    ids = {
        DOC_MERCHANT_ID: str(merchant.pk),
        DOC_REQUEST_ID: create(keyed, merchant),
        DOC_PLAN_ID: keyed.post(
            "/api/v1/recurring/plans",
            {
                "merchant_id": str(merchant.pk),
                "fiat_amount_int": 1500,
                "frequency": "monthly",
                "customer_wallet": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
            },
            format="json",
        ).json()["plan_id"],
    }
    plans_charge_due(now=timezone.now())  # the docs' plan shows its first charge
    checked, problems = 0, []
    for slug, curl, shown in documented_calls():
        path, body = curl.path, curl.body
        events_api = slug == "events" and curl.path.startswith("/api/v1/events")
        if events_api and DOC_EVENT_ID not in ids:
            # A request with a cancelled event whose delivery was tried once
            # (the docs' list shows attempts), once the docs set the webhook up.
            ids[DOC_REQUEST_ID] = create(keyed, merchant)
            keyed.post(f"/api/v1/requests/{ids[DOC_REQUEST_ID]}/cancel")
            event = WebhookEvent.objects.get(request_id=ids[DOC_REQUEST_ID])
            deliver(delivery_id=str(event.deliveries.get().pk))
            ids[DOC_EVENT_ID] = str(event.pk)
        for doc_id, real in ids.items():
            path = path.replace(doc_id, real)
            if body is not None:
                body = json.loads(json.dumps(body).replace(doc_id, real))
        if isinstance(body, dict):
            body.pop("idempotency_key", None)  # run twice would replay
        client = APIClient()
        auth = curl.headers.get("authorization")
        if auth in ("Bearer $JOPAY_KEY", "Bearer $JOPAY_LIVE_KEY"):
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        elif auth is not None:
            assert "$" not in auth, auth
            client.credentials(HTTP_AUTHORIZATION=auth)
        call = getattr(client, curl.method.lower())
        response = call(path, body, format="json") if body is not None else call(path)
        live = response.json()
        where = f"/docs/{slug}/: {curl.method} {curl.path}"
        expected_error = shown.get("error") if isinstance(shown, dict) else None
        if expected_error:
            if live.get("error") != expected_error:
                problems.append(f"{where}: answered {live}, docs show {shown}")
        elif not 200 <= response.status_code < 300:
            problems.append(f"{where}: answered {response.status_code} {live}")
        if shown is not None:
            problems += [f"{where}: no {k}" for k in unknown_keys(shown, live)]
            problems += [f"{where}: {p}" for p in value_mismatches(shown, live)]
        checked += 1

    assert problems == [], "\n".join(problems)
    assert checked >= 25  # every API page's calls were found and run
