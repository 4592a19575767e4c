"""D10: every v1 route with an id answers another partner's or the other mode's
resource with a 404 byte-identical to one for an id that never existed.

The walk is over the live URLconf, so a new route is covered the day it is
added; a route whose id kind has no owner factory here fails loudly.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from tests.factories import MerchantFactory

METHODS = ("get", "post", "put", "patch", "delete")


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def v1_routes_with_ids():
    routes = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/") or "<" not in route or "<path:" in route:
            continue
        view_class = getattr(pattern.callback, "view_class", None) or getattr(
            pattern.callback, "cls", None
        )
        methods = [m for m in METHODS if view_class and hasattr(view_class, m)]
        params = re.findall(r"<(?:\w+:)?(\w+)>", route)
        routes.append((route, params, methods))
    return routes


def _make_request(merchant):
    from payments.models import PaymentRequest

    return PaymentRequest.objects.create(
        partner=merchant.partner,
        test_mode=merchant.test_mode,
        merchant=merchant,
        reference=uuid.uuid4().hex[:6].upper(),
        fiat_int=2500,
        fiat_code="EUR",
        usdc_micro=27_500_000,
        fx_rate=Decimal("0.909090909090909091"),
        fx_source="manual",
        receiving_address=merchant.wallet_address,
        expires_at=timezone.now() + timedelta(hours=1),
    ).pk


def _make_event(merchant):
    from webhooks.models import WebhookEvent

    return WebhookEvent.objects.create(
        partner=merchant.partner,
        test_mode=merchant.test_mode,
        type="webhook.test",
        payload={"event": "webhook.test"},
    ).pk


def _make_plan(merchant):
    from recurring.models import Plan
    from recurring.services import plan_create

    return (
        plan_create(
            partner=merchant.partner,
            test_mode=merchant.test_mode,
            merchant=merchant,
            fiat_amount_int=1000,
            frequency="monthly",
            customer_wallet=merchant.wallet_address,
        ).pk
        if Plan
        else None
    )


OWNED = {
    "request_id": _make_request,
    "merchant_id": lambda m: m.pk,
    "event_id": _make_event,
    "plan_id": _make_plan,
}


def test_the_walk_finds_the_id_routes(db):
    routes = {r for r, _, _ in v1_routes_with_ids()}
    assert "api/v1/requests/<str:request_id>" in routes or any(
        "requests/<" in r for r in routes
    )
    assert any("merchants/<" in r for r in routes)


@pytest.mark.django_db
def test_foreign_and_other_mode_ids_are_indistinguishable_from_missing(
    partner, other_partner, client_for
):
    owner_merchant = MerchantFactory(partner=partner, test_mode=False)
    alice_live = client_for(partner)
    alice_test = client_for(partner, test_mode=True)
    bob_live = client_for(other_partner)
    checked = 0
    for route, params, methods in v1_routes_with_ids():
        unknown = [p for p in params if p not in OWNED]
        assert unknown == [], f"{route}: add an owner factory for {unknown}"
        owned = {p: str(OWNED[p](owner_merchant)) for p in params}
        missing = {p: str(uuid.uuid4()) for p in params}
        for method in methods:

            def call(client, ids, _route=route, _method=method):
                path = "/" + re.sub(
                    r"<(?:\w+:)?(\w+)>", lambda m: ids[m.group(1)], _route
                )
                return getattr(client, _method)(path, {}, format="json")

            baseline = call(alice_live, missing)
            assert baseline.status_code == 404, (route, method, baseline.content)
            for stranger in (bob_live, alice_test):
                answer = call(stranger, owned)
                assert answer.status_code == 404, (route, method, answer.content)
                assert answer.content == baseline.content, (route, method)
            if method == "get":
                assert call(alice_live, owned).status_code == 200, (route, method)
            checked += 1
    assert checked >= 4


API_DIRS = [
    "merchants/api",
    "payments/api",
    "payments/pay",
    "payments/proofs",
    "webhooks/api",
    "recurring/api",
    "merchants/portal",
    "payments/portal",
    "webhooks/portal",
    "recurring/portal",
    "portal",
]
TENANT_MODELS = [
    "Merchant",
    "PaymentRequest",
    "WebhookEvent",
    "WebhookDelivery",
    "Plan",
]


def test_api_and_portal_code_never_reads_tenant_models_unscoped():
    """The guard behind D10: API/portal code reaches tenant rows via ``for_tenant``
    (or selectors that do), never a bare ``Model.objects.get/filter``."""
    root = Path(__file__).resolve().parents[2]
    offenders = []
    pattern = re.compile(rf"\b({'|'.join(TENANT_MODELS)})\.objects\.(?!for_tenant\()")
    for folder in API_DIRS:
        for path in (root / folder).rglob("*.py") if (root / folder).exists() else []:
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line) and "tenancy: ok" not in line:
                    offenders.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert offenders == []
