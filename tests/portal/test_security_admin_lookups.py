"""No admin changelist is an oracle for a credential a member of staff may not read.

A chain's RPC URLs may embed a provider's API key (``…/v3/<key>``): they never
reach a browser, and a member of staff who may only *view* chains sees their
count, not the URLs. But the admin takes a querystring lookup on any of a
model's own fields, and ``?rpc_urls__icontains=…`` with its result count
("1 chain" / "0 chains") read the key one character at a time, as
``?secret__startswith=…`` did for webhook secrets (D8, D25).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User

from payments.models import Chain

pytestmark = pytest.mark.django_db

PROVIDER_KEY = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"


@pytest.fixture
def viewer(client):
    user = User.objects.create_user("viewer", password="x" * 12, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_chain"))
    client.force_login(user)
    return client


@pytest.fixture
def keyed_chain(db):
    chain, _ = Chain.objects.update_or_create(
        chain_id=80002,
        defaults={
            "name": "Amoy",
            "is_testnet": True,
            "usdc_address": "0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582",
            "confirmations": 2,
            "rpc_urls": [f"https://polygon-amoy.infura.io/v3/{PROVIDER_KEY}"],
        },
    )
    return chain


def test_a_view_only_user_does_not_see_the_rpc_urls(viewer, keyed_chain):
    """The premise: what the oracle below would read is otherwise hidden."""
    for url in (
        "/admin/payments/chain/",
        f"/admin/payments/chain/{keyed_chain.pk}/change/",
    ):
        answer = viewer.get(url)
        assert answer.status_code == 200, url
        assert PROVIDER_KEY not in answer.content.decode(), url


@pytest.mark.parametrize(
    "lookup",
    [
        "rpc_urls__icontains",
        "rpc_urls__contains",
        "rpc_urls",
        "rpc_urls__0__startswith",
    ],
)
def test_rpc_urls_cannot_be_filtered_on(viewer, keyed_chain, lookup):
    answer = viewer.get("/admin/payments/chain/", {lookup: PROVIDER_KEY[:1]})

    assert answer.status_code == 400
    assert viewer.get("/admin/payments/chain/").status_code == 200
