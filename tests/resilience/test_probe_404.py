"""D10 over real HTTP: every v1 route, probed with another partner's ids and with
the other mode's ids, answers byte-for-byte what it answers for ids that never
existed — on a real gunicorn, through the whole middleware stack.

The routes come from the live URLconf (the walk of tests/foundation/test_tenancy),
so a route added tomorrow is probed tomorrow. Ids inside bodies and query
strings (``merchant_id``) are probed too.
"""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from tests.factories import MerchantFactory, PartnerFactory, make_key
from tests.foundation.test_tenancy import OWNED, v1_routes_with_ids
from tests.live import gunicorn

from .conftest import GENEROUS_LIMITS

pytestmark = pytest.mark.live


class Caller:
    def __init__(self, base: str, key: str):
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def __call__(self, method: str, path: str, **kwargs) -> requests.Response:
        if method in ("post", "put", "patch") and "json" not in kwargs:
            kwargs["json"] = {}
        return self.session.request(method, self.base + path, timeout=30, **kwargs)


@pytest.fixture
def probe(live_partner):
    """Alice live (owner), Alice test (other mode), Bob live (other partner)."""
    bob = PartnerFactory(slug="bob-pay", rate_limit_overrides=GENEROUS_LIMITS)
    owner_merchant = MerchantFactory(partner=live_partner, test_mode=False)
    keys = {
        "owner": make_key(live_partner),
        "other_mode": make_key(live_partner, test_mode=True),
        "other_partner": make_key(bob),
    }
    with gunicorn(workers=2) as base:
        yield {name: Caller(base, key) for name, key in keys.items()}, owner_merchant


def _fill(route: str, ids: dict[str, str]) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: ids[m.group(1)], route)


def test_every_id_route_answers_foreign_and_other_mode_ids_like_missing_ones(probe):
    callers, owner_merchant = probe
    routes = v1_routes_with_ids()
    assert len(routes) >= 6, routes
    probed = []
    for route, params, methods in routes:
        unknown = [p for p in params if p not in OWNED]
        assert unknown == [], f"{route}: add an owner factory for {unknown}"
        owned = {p: str(OWNED[p](owner_merchant)) for p in params}
        missing = {p: str(uuid.uuid4()) for p in params}
        for method in methods:
            baseline = callers["owner"](method, _fill(route, missing))
            assert baseline.status_code == 404, (route, method, baseline.text)
            assert baseline.headers["Content-Type"].startswith("application/json")
            for stranger in ("other_mode", "other_partner"):
                answer = callers[stranger](method, _fill(route, owned))
                assert (answer.status_code, answer.content) == (
                    baseline.status_code,
                    baseline.content,
                ), (route, method, stranger)
            probed.append((route, method))
    assert len(probed) >= 8, probed


def test_foreign_ids_in_bodies_and_filters_are_like_missing_ones(probe):
    """Every id a v1 body or list filter takes: ``merchant_id`` (create, plan
    create, requests and plans lists) and ``request_id`` (events list). The
    owner has a request, a plan and an event of that request, so a filter that
    leaked would list them instead of the empty page of a missing id."""
    from webhooks.models import WebhookEvent

    callers, owner_merchant = probe
    request_id = str(OWNED["request_id"](owner_merchant))
    OWNED["plan_id"](owner_merchant)
    WebhookEvent.objects.create(
        partner=owner_merchant.partner,
        test_mode=owner_merchant.test_mode,
        request_id=request_id,
        sequence=1,  # an event about a request has one (D23, webhooks 0014)
        type="request.cancelled",
        payload={"event": "request.cancelled"},
    )
    merchant_id, missing = str(owner_merchant.pk), str(uuid.uuid4())
    cases = [
        (
            "post",
            "/api/v1/requests/create",
            merchant_id,
            lambda mid: {"json": {"merchant_id": mid, "fiat_amount_int": 2500}},
        ),
        (
            "post",
            "/api/v1/recurring/plans",
            merchant_id,
            lambda mid: {
                "json": {
                    "merchant_id": mid,
                    "fiat_amount_int": 2500,
                    "frequency": "monthly",
                    "customer_wallet": owner_merchant.wallet_address,
                }
            },
        ),
        (
            "get",
            "/api/v1/requests",
            merchant_id,
            lambda mid: {"params": {"merchant_id": mid}},
        ),
        (
            "get",
            "/api/v1/recurring/plans",
            merchant_id,
            lambda mid: {"params": {"merchant_id": mid}},
        ),
        (
            "get",
            "/api/v1/events",
            request_id,
            lambda rid: {"params": {"request_id": rid}},
        ),
    ]
    # The owner sees its rows through each filter: the probe can tell a leak.
    for method, path, foreign, kwargs in cases[2:]:
        owned = callers["owner"](method, path, **kwargs(foreign))
        assert owned.status_code == 200, (path, owned.text)
        assert owned.json()["data"], (path, owned.text)
    for method, path, foreign, kwargs in cases:
        for stranger in ("other_mode", "other_partner"):
            expected = callers[stranger](method, path, **kwargs(missing))
            answer = callers[stranger](method, path, **kwargs(foreign))
            assert answer.status_code < 500, (path, answer.text)
            assert (answer.status_code, answer.content) == (
                expected.status_code,
                expected.content,
            ), (path, stranger)


def test_unknown_routes_and_wrong_methods_answer_json_not_html(probe):
    callers, _ = probe
    for method, path, status, code in [
        ("get", "/api/v1/nope", 404, "not_found"),
        ("post", "/api/v1/requests/create/extra/parts", 404, "not_found"),
        ("delete", "/api/v1/requests/create", 405, "method_not_allowed"),
        ("put", "/api/v1/requests", 405, "method_not_allowed"),
    ]:
        answer = callers["owner"](method, path)
        assert answer.headers["Content-Type"].startswith("application/json"), path
        assert (answer.status_code, answer.json()["error"]) == (status, code), path


def test_a_refused_host_header_answers_json_under_api_v1(probe):
    """D3: even Django's own host check (raised before any view) is no HTML page."""
    callers, _ = probe
    answer = callers["owner"]("get", "/api/v1/merchants", headers={"Host": "evil.test"})
    assert answer.headers["Content-Type"].startswith("application/json")
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    assert answer.headers["X-Request-Id"]
