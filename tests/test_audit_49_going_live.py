"""Going live is more than swapping the key: merchants live in one mode (D10).

The quickstart's last step and the authentication page told partners to
switch their code to the live key and that nothing else changes. But every
merchant (and its requests and plans) belongs to the mode of the key that
made it: the merchant ids an integration stored while testing answer
``not_found`` to the live key. The pages must say to create the merchants
again with the live key, and that is what the API does.
"""

from __future__ import annotations

import re

from tests.docs.blocks import PAGES_BY_SLUG, source_text


def flat(slug: str) -> str:
    return " ".join(source_text(PAGES_BY_SLUG[slug]).split())


def test_a_test_merchant_id_is_not_found_for_the_live_key(api, api_test):
    made = api_test.post(
        "/api/v1/merchants",
        {"wallet_address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
        format="json",
    ).json()
    merchant_id = made["merchant_id"]

    read = api.get(f"/api/v1/merchants/{merchant_id}")
    create = api.post(
        "/api/v1/requests/create",
        {"merchant_id": merchant_id, "fiat_amount_int": 2500},
        format="json",
    )

    assert (read.status_code, read.json()["error"]) == (404, "not_found")
    assert (create.status_code, create.json()["error"]) == (404, "not_found")


def test_the_going_live_advice_says_to_create_the_merchants_again():
    going_live = re.search(r"Going live:(.*?)(?:- |$)", flat("quickstart")).group(1)
    assert "Nothing else changes" not in going_live
    assert "merchants again with the live key" in going_live
    assert "not_found" in going_live

    auth = flat("authentication")
    assert "then swap in a live key." not in auth
    assert "create your merchants again with the live key" in auth
