"""The reconciliation code on /docs/patterns/ resends what it means to (D24, D27).

The "find undelivered webhooks" loop is taken from the Markdown as a reader
copies it and run against the real API through a ``requests``-like session
over the test client. Its job is the day after a receiver outage, when many
deliveries failed at once: more than the resend endpoint's per-key limit. A
resend refused with ``rate_limited`` must be sent again after ``Retry-After``,
not dropped, and a refusal that waiting cannot fix (delivery switched off)
must stop the job instead of looking like success.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.utils import timezone

from payments.models import FxRate
from tests.docs.blocks import page_blocks
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.services import webhook_endpoint_set


class Session:
    """The part of ``requests.Session`` the page uses, over the DRF test client."""

    def __init__(self, client):
        self.client = client

    def get(self, url, params=None, timeout=None):
        return self.client.get(url, params or {})

    def post(self, url, json=None, timeout=None):
        return self.client.post(url, json, format="json")


class Clock:
    """``time`` for the snippet: a sleep is recorded and ends the window."""

    def __init__(self):
        self.slept: list[float] = []

    def sleep(self, seconds):
        self.slept.append(seconds)
        cache.clear()  # the rate-limit window the wait was for has passed


def resend_loop() -> str:
    [code] = [
        b.code
        for b in page_blocks("patterns")
        if b.lang == "python" and "/resend" in b.code
    ]
    return code


@pytest.fixture
def failed_events(api, merchant, partner):
    """Four live requests cancelled while the receiver was down: failed deliveries."""
    for code in ("EUR", "USD"):
        FxRate.objects.create(
            currency=code, rate=Decimal(1), source="test", fetched_at=timezone.now()
        )
    webhook_endpoint_set(partner=partner, url="https://127.0.0.1:9/jopay", enabled=True)
    for amount in (2500, 2600, 2700, 2800):
        created = api.post(
            "/api/v1/requests/create",
            {"merchant_id": str(merchant.pk), "fiat_amount_int": amount},
            format="json",
        ).json()
        cancel = api.post(f"/api/v1/requests/{created['request_id']}/cancel")
        assert cancel.status_code == 200
    deliveries = WebhookDelivery.objects.filter(event__type="request.cancelled")
    deliveries.update(state=WebhookDelivery.State.FAILED, next_attempt_at=None)
    assert deliveries.count() == 4
    return deliveries


def run(api, clock) -> None:
    """The loop, for the cancellations these tests make instead of payments."""
    code = resend_loop().replace("payment.proof_verified", "request.cancelled")
    namespace = {"session": Session(api), "JOPAY_URL": "", "time": clock}
    exec(compile(code, "patterns.md:resend", "exec"), namespace)  # noqa: S102


def test_the_reconciliation_loop_resends_past_the_rate_limit(
    api, partner, failed_events
):
    partner.rate_limit_overrides = {"events.resend": "2/m"}
    partner.save()
    clock = Clock()

    run(api, clock)

    assert [d.state for d in failed_events.all()].count("failed") == 0
    assert clock.slept, "the loop never waited out rate_limited"


def test_the_reconciliation_loop_stops_when_delivery_is_off(
    api, partner, failed_events
):
    webhook_endpoint_set(partner=partner, enabled=False)
    WebhookDelivery.objects.update(state=WebhookDelivery.State.FAILED)

    with pytest.raises(Exception, match="webhook_not_configured"):
        run(api, Clock())
    assert WebhookEvent.objects.filter(type="request.cancelled").count() == 4


def checkout_view() -> str:
    [code] = [
        b.code
        for b in page_blocks("patterns")
        if b.lang == "python" and "def jopay_webhook" in b.code
    ]
    return code


class FakeOrders:
    """Order.objects for the snippet: records which orders were marked paid."""

    def __init__(self):
        self.paid: list[str] = []
        self.unpaid: list[dict] = []  # the filters of the "unpaid" updates

    def select_for_update(self):
        return self

    def get(self, id):
        return SimpleNamespace(mark_paid=lambda **proof: self.paid.append(id))

    def filter(self, **kwargs):
        return SimpleNamespace(update=lambda **values: self.unpaid.append(kwargs))


def signed(payload: dict, secret: str) -> tuple[bytes, str]:
    from webhooks import signing

    body = json.dumps(payload).encode()
    headers = signing.signature_headers(
        secrets_new_first=[secret],
        delivery_id=payload["delivery_id"],
        attempt=1,
        timestamp=int(time.time()),
        body=body,
    )
    return body, headers["x-jopay-signature"]


def checkout_receiver(key: str, secret: str):
    """The page's checkout webhook view with its verifier, over fake models."""
    orders = FakeOrders()
    seen: list[str] = []
    namespace = {
        "json": json,
        "JOPAY_KEY": key + "x" * 32,
        "WEBHOOK_SECRET": secret,
        "HttpResponse": lambda status: status,
        "Order": SimpleNamespace(objects=orders),
        "Delivery": SimpleNamespace(
            objects=SimpleNamespace(
                filter=lambda delivery_id: SimpleNamespace(
                    exists=lambda: delivery_id in seen
                ),
                create=lambda delivery_id: seen.append(delivery_id),
            )
        ),
        "transaction": SimpleNamespace(atomic=contextlib.nullcontext),
    }
    for block in page_blocks("events"):
        if block.attrs.get("data-snippet") == "verify-jopay" and block.lang == "python":
            exec(block.code, namespace)  # noqa: S102
    exec(compile(checkout_view(), "patterns.md:checkout", "exec"), namespace)  # noqa: S102
    return orders, namespace["jopay_webhook"]


@pytest.mark.parametrize(("key", "acts"), [("jo_live_", False), ("jo_test_", True)])
def test_the_checkout_receiver_ignores_the_other_modes_payments(key, acts):
    """One webhook URL serves both modes (D35): a live shop's receiver gets the
    test-mode events of its developers too, whose order ids may be real ones.
    A test payment (worthless tokens) must not mark a live order paid."""
    from webhooks import signing

    secret = signing.secret_new()
    orders, view = checkout_receiver(key, secret)
    payload = {
        "event": "payment.proof_verified",
        "delivery_id": str(uuid.uuid4()),
        "test_mode": True,
        "metadata": {"order_id": "1001"},
        "tx_hash": "0x" + "ab" * 32,
        "chain_id": 31337,
    }
    body, header = signed(payload, secret)
    request = SimpleNamespace(body=body, headers={"x-jopay-signature": header})

    status = view(request)

    assert 200 <= status < 300  # acknowledged either way: no retries
    assert orders.paid == (["1001"] if acts else [])


def checkout_namespace(api, monkeypatch) -> dict:
    """The page's opening block and its start_checkout, run as a reader would."""
    monkeypatch.setenv("JOPAY_URL", "")
    monkeypatch.setenv("JOPAY_KEY", api.key)
    python = [b.code for b in page_blocks("patterns") if b.lang == "python"]
    namespace: dict = {"CheckoutError": RuntimeError}
    exec(compile(python[0], "patterns.md:imports", "exec"), namespace)  # noqa: S102
    namespace["session"] = Session(api)
    [start] = [code for code in python if "def start_checkout" in code]
    exec(compile(start, "patterns.md:checkout", "exec"), namespace)  # noqa: S102
    return namespace


class Order(SimpleNamespace):
    def save(self):
        pass


@pytest.mark.parametrize("ended", ["cancel", "expire"])
def test_a_customer_back_after_the_request_ended_gets_a_payable_link(
    api, merchant, partner, monkeypatch, ended
):
    """The page derives the idempotency key from the order and cancels the
    request of an abandoned cart; a pos request also expires after an hour.
    A customer who comes back and clicks Pay again must get a live pay page,
    not the replay of the dead request (D17 answers it in its current state)."""
    from payments.models import PaymentRequest

    FxRate.objects.create(
        currency="EUR", rate=Decimal(1), source="test", fetched_at=timezone.now()
    )
    merchant.display_currency = "EUR"
    merchant.save()
    start_checkout = checkout_namespace(api, monkeypatch)["start_checkout"]
    order = Order(
        id=uuid.uuid4(),
        number="A-1001",
        total_cents=2500,
        currency="EUR",
        shop=SimpleNamespace(jopay_merchant_id=str(merchant.pk)),
        checkout_attempt=0,
    )
    start_checkout(order)
    first = order.jopay_request_id
    if ended == "cancel":
        assert api.post(f"/api/v1/requests/{first}/cancel").status_code == 200
    else:
        PaymentRequest.objects.filter(pk=first).update(
            status="expired", expires_at=timezone.now()
        )

    url = start_checkout(order)

    again = api.get(f"/api/v1/requests/{order.jopay_request_id}").json()
    assert again["status"] == "requested"
    assert url == again["pay_page_url"]
    assert order.jopay_request_id != first


def test_the_end_of_a_superseded_request_leaves_the_order_alone():
    """With a new checkout attempt per ended request, an order has had several
    requests: the request.expired of the first (an hour after it) must not set
    the order unpaid while the customer pays the second."""
    from webhooks import signing

    secret = signing.secret_new()
    orders, view = checkout_receiver("jo_live_", secret)
    old_request = str(uuid.uuid4())
    payload = {
        "event": "request.expired",
        "delivery_id": str(uuid.uuid4()),
        "test_mode": False,
        "request_id": old_request,
        "metadata": {"order_id": "1001"},
    }
    body, header = signed(payload, secret)

    view(SimpleNamespace(body=body, headers={"x-jopay-signature": header}))

    assert [f.get("jopay_request_id") for f in orders.unpaid] == [old_request]
