"""A plan's ``chain_id`` must be a chain JoPay accepts for the key's mode (D19, D29).

The same rule as attaching a proof (``chain_for_proof``): a registered,
enabled chain with RPC URLs; live keys take mainnets, test keys testnets and
``local`` chains. Anything else is ``unsupported_chain`` and nothing is stored.
"""

from __future__ import annotations

import pytest

from jopay_project.errors import ErrorCode, JoPayError
from payments.models import Chain
from recurring.models import Plan
from recurring.services import plan_create
from tests.recurring.api.test_create import KEY, assert_error, body, post
from tests.recurring.conftest import CUSTOMER

USDC = "0x" + "cd" * 20
RPC = ["https://rpc.chain.example"]


def register(chain_id: int, **fields) -> Chain:
    values = {
        "name": f"chain {chain_id}",
        "is_testnet": False,
        "is_local": False,
        "usdc_address": USDC,
        "rpc_urls": RPC,
        "enabled": True,
        **fields,
    }
    chain, _ = Chain.objects.update_or_create(chain_id=chain_id, defaults=values)
    return chain


@pytest.fixture
def chains(db):
    """Polygon (mainnet), Amoy (testnet) and a local node, all with RPC URLs."""
    return {
        "mainnet": register(137),
        "testnet": register(80002, is_testnet=True),
        "local": register(31337, is_local=True),
    }


def test_a_test_mode_plan_cannot_name_a_mainnet(api_test, test_merchant, chains):
    assert_error(post(api_test, body(test_merchant, chain_id=137)), "unsupported_chain")
    assert not Plan.objects.exists()


def test_a_live_plan_cannot_name_a_testnet_or_a_local_chain(api, merchant, chains):
    for chain_id in (80002, 31337):
        assert_error(post(api, body(merchant, chain_id=chain_id)), "unsupported_chain")
    assert not Plan.objects.exists()


def test_each_mode_takes_its_own_chains(api, api_test, merchant, test_merchant, chains):
    live = post(api, body(merchant, chain_id=137))
    assert live.status_code == 201, live.content
    assert live.json()["chain_id"] == 137
    for chain_id in (80002, 31337):
        test = post(api_test, body(test_merchant, chain_id=chain_id))
        assert test.status_code == 201, test.content
        assert test.json()["chain_id"] == chain_id


def test_an_unknown_chain_is_unsupported(api, merchant, chains):
    Chain.objects.filter(pk=424242).delete()
    assert_error(post(api, body(merchant, chain_id=424242)), "unsupported_chain")


def test_a_known_chain_without_rpc_urls_is_unsupported(api, merchant, chains):
    # The shipped defaults are seeded like this: unusable until an operator adds
    # RPC URLs (D19). No charge on it could ever be verified.
    register(8453, rpc_urls=[])
    assert_error(post(api, body(merchant, chain_id=8453)), "unsupported_chain")
    assert not Plan.objects.exists()


def test_a_disabled_chain_is_unsupported(api, merchant, chains):
    register(137, enabled=False)
    assert_error(post(api, body(merchant, chain_id=137)), "unsupported_chain")


def test_a_pull_plan_checks_the_chain_against_the_mode_too(
    api_test, test_merchant, chains, settings
):
    settings.JOPAY_RECURRING_EXECUTORS = {137: "0x" + "ab" * 20}
    assert_error(
        post(api_test, body(test_merchant, collection="pull", chain_id=137)),
        "unsupported_chain",
    )
    assert not Plan.objects.exists()


def test_the_service_refuses_the_chain_for_every_caller(test_merchant, chains):
    with pytest.raises(JoPayError) as raised:
        plan_create(
            partner=test_merchant.partner,
            test_mode=True,
            merchant=test_merchant,
            fiat_amount_int=2500,
            frequency="monthly",
            customer_wallet=CUSTOMER,
            chain_id=137,
        )
    assert raised.value.code == ErrorCode.UNSUPPORTED_CHAIN
    assert not Plan.objects.exists()


def test_a_replay_holds_after_the_chain_lost_its_rpc_urls(api, merchant, chains):
    first = post(api, body(merchant, chain_id=137, idempotency_key=KEY))
    assert first.status_code == 201, first.content
    register(137, rpc_urls=[])

    again = post(api, body(merchant, chain_id=137, idempotency_key=KEY))

    assert again.status_code == 200, again.content
    assert again.json()["plan_id"] == first.json()["plan_id"]
