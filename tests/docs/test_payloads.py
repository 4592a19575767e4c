"""Documented webhook payloads are what receivers really get (D23, D35).

Every event type is produced for real — through the API, the services, and
for proofs a real anvil chain with a test USDC — and the body JoPay would
POST (``webhooks.delivery.build_body``, with the delivery's id) must have
exactly the keys of the example on /docs/events/.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from eth_account import Account
from web3 import Web3

from payments.chain.devnode import DEV_ACCOUNTS, AnvilMissing, AnvilNode
from payments.contracts import deploy_test_usdc
from payments.models import Chain, PaymentRequest
from payments.proofs.services import proof_attach, proof_verify
from payments.services.closing import payment_requests_expire_due
from recurring.services.charging import plans_charge_due
from tests.factories import MerchantFactory
from webhooks.delivery import build_body
from webhooks.models import WebhookEvent
from webhooks.services import webhook_endpoint_set

from .blocks import key_shape, one_block, value_mismatches

CHAIN_ID = 31337
PAYER = DEV_ACCOUNTS[1]


def documented(event_type: str) -> dict:
    return json.loads(one_block("events", data_event=event_type).code)


def sent_body(event_type: str, **filters) -> dict:
    """The JSON body the delivery of the newest such event carries."""
    event = WebhookEvent.objects.filter(type=event_type, **filters).latest("created_at")
    delivery = event.deliveries.get()
    return json.loads(build_body(event.payload, str(delivery.pk)))


def assert_matches_docs(event_type: str, **filters) -> None:
    live = sent_body(event_type, **filters)
    assert live["event"] == event_type
    assert key_shape(documented(event_type)) == key_shape(live)
    assert value_mismatches(documented(event_type), live) == []


@pytest.fixture
def endpoint(partner):
    endpoint, _secret = webhook_endpoint_set(
        partner=partner, url="https://127.0.0.1:9/jopay", enabled=True
    )
    return endpoint


@pytest.fixture
def shop(partner):
    """A ready test-mode merchant with a fresh wallet of its own."""
    return MerchantFactory(
        partner=partner, test_mode=True, wallet_address=Account.create().address
    )


def create_request(api_test, merchant, **fields) -> dict:
    body = {
        "merchant_id": str(merchant.pk),
        "fiat_amount_int": 2500,
        "metadata": {"order_id": "A-1001"},
        **fields,
    }
    response = api_test.post("/api/v1/requests/create", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_webhook_test_payload(api_test, endpoint):
    response = api_test.post("/api/v1/webhooks/test")
    assert response.status_code == 202

    assert_matches_docs("webhook.test")


def test_request_cancelled_payload(api_test, endpoint, shop, fx_rates):
    created = create_request(api_test, shop)
    cancel = api_test.post(f"/api/v1/requests/{created['request_id']}/cancel")
    assert cancel.status_code == 200

    assert_matches_docs("request.cancelled", request_id=created["request_id"])


def test_request_expired_payload(api_test, endpoint, shop, fx_rates):
    created = create_request(api_test, shop)

    assert payment_requests_expire_due(now=timezone.now() + timedelta(days=2)) >= 1

    assert_matches_docs("request.expired", request_id=created["request_id"])


def test_recurring_charge_created_payload(api_test, endpoint, shop, fx_rates):
    response = api_test.post(
        "/api/v1/recurring/plans",
        {
            "merchant_id": str(shop.pk),
            "fiat_amount_int": 1500,
            "frequency": "monthly",
            "customer_wallet": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
            "customer_email": "sam@customer.example",
            "metadata": {"subscription_id": "sub_8812"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()

    plans_charge_due(now=timezone.now() + timedelta(minutes=1))

    assert_matches_docs("recurring.charge_created")
    # The charge's request carries the plan's metadata plus plan_id and
    # charge_number, as /docs/recurring/ says.
    live = sent_body("recurring.charge_created")
    assert live["metadata"] == {
        "subscription_id": "sub_8812",
        "plan_id": response.json()["plan_id"],
        "charge_number": "1",
    }


# --- proofs, on a real chain -------------------------------------------------------


@pytest.fixture(scope="module")
def anvil():
    try:
        node = AnvilNode(chain_id=CHAIN_ID).start()
    except AnvilMissing as exc:
        pytest.fail(f"the payload tests need anvil: {exc}", pytrace=False)
    yield node
    node.stop()


@pytest.fixture(scope="module")
def usdc(anvil):
    w3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 10}))
    token = deploy_test_usdc(w3, deployer=DEV_ACCOUNTS[0])
    tx = token.functions.mint(PAYER, 10**12).transact({"from": DEV_ACCOUNTS[0]})
    w3.eth.wait_for_transaction_receipt(tx)
    return w3, token


@pytest.fixture
def local_chain(db, anvil, usdc):
    _w3, token = usdc
    return Chain.objects.create(
        chain_id=CHAIN_ID,
        name="Local anvil",
        is_local=True,
        usdc_address=token.address,
        decimals=6,
        confirmations=1,
        rpc_urls=[anvil.url],
    )


def pay(usdc, *, to: str, value: int) -> str:
    w3, token = usdc
    tx = token.functions.transfer(to, value).transact({"from": PAYER})
    w3.eth.wait_for_transaction_receipt(tx)
    return "0x" + bytes(tx).hex()


def prove(request_id: str, tx_hash: str) -> str:
    request = PaymentRequest.objects.get(pk=request_id)
    proof_attach(
        request=request,
        chain_id=CHAIN_ID,
        tx_hash=tx_hash,
        source=PaymentRequest.ProofSource.CUSTOMER,
        enqueue=False,
    )
    return proof_verify(request_id=request_id).outcome


def test_proof_attached_and_verified_payloads(
    api_test, endpoint, shop, fx_rates, local_chain, usdc
):
    created = create_request(api_test, shop)
    tx_hash = pay(
        usdc,
        to=created["receiving_address"],
        value=int(created["amount"]["usdc_micro"]),
    )

    assert prove(created["request_id"], tx_hash) == "verified"

    assert_matches_docs("payment.proof_attached", request_id=created["request_id"])
    assert_matches_docs("payment.proof_verified", request_id=created["request_id"])
    verified = sent_body("payment.proof_verified", request_id=created["request_id"])
    assert verified["value_micro"] == created["amount"]["usdc_micro"]
    assert verified["token_address"] == local_chain.usdc_address


def test_proof_mismatch_payload(api_test, endpoint, shop, fx_rates, local_chain, usdc):
    created = create_request(api_test, shop)
    short = int(created["amount"]["usdc_micro"]) - 1
    tx_hash = pay(usdc, to=created["receiving_address"], value=short)

    assert prove(created["request_id"], tx_hash) == "mismatch"

    assert_matches_docs("payment.proof_mismatch", request_id=created["request_id"])
    assert (
        sent_body("payment.proof_mismatch", request_id=created["request_id"])[
            "mismatch_reason"
        ]
        == "underpaid"
    )


def evidence_checker():
    """The on-chain check from /docs/events/, as a reader copies it (D23)."""
    code = one_block("events", lang="python", data_snippet="verify-evidence").code
    namespace: dict = {}
    exec(compile(code, "events.md:verify-evidence", "exec"), namespace)  # noqa: S102
    return namespace["payment_is_on_chain"]


def test_documented_evidence_check_confirms_a_real_verified_payment(
    api_test, endpoint, shop, fx_rates, local_chain, usdc
):
    w3, token = usdc
    created = create_request(api_test, shop)
    usdc_micro = created["amount"]["usdc_micro"]
    tx_hash = pay(usdc, to=created["receiving_address"], value=int(usdc_micro))
    assert prove(created["request_id"], tx_hash) == "verified"
    event = sent_body("payment.proof_verified", request_id=created["request_id"])
    check = evidence_checker()

    def holds(
        event=event,
        usdc=token.address,
        to=created["receiving_address"],
        micro=usdc_micro,
        confirmations=1,
    ):
        return check(w3, event, usdc, to, micro, confirmations)

    assert holds()
    # Each fact the docs say to compare is really compared.
    assert not holds(event={**event, "value_micro": str(int(usdc_micro) + 1)})
    assert not holds(event={**event, "block_hash": "0x" + "11" * 32})
    assert not holds(event={**event, "log_index": event["log_index"] + 1})
    assert not holds(event={**event, "chain_id": 1})
    assert not holds(usdc=DEV_ACCOUNTS[3])
    assert not holds(to=Account.create().address)
    assert not holds(micro=str(int(usdc_micro) + 1))
    assert not holds(confirmations=10**6)
