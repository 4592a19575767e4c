"""A chain's public RPC URL (D19, D31): the one RPC endpoint that may reach a
browser, so a customer's wallet can add the chain (EIP-3085). It is https, has
no credentials, and is set by ``configure_chain --public-rpc-url`` or the admin;
the operator's ``--rpc-url`` endpoints stay private."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from payments.chain.devnode import free_port
from payments.models import Chain
from tests.portal.test_admin_audit_trail import drawn

pytestmark = pytest.mark.chain

USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
PUBLIC = "https://rpc.example.org/public"
REFUSED = [
    "http://rpc.example.org",  # plain http: anyone on the way picks the node
    "wss://rpc.example.org",
    "rpc.example.org",
    "https://",
    "https://user:sk_live_secret@rpc.example.org",  # given away with the URL
    "https://rpc.example.org/a b",
    "https://" + "a" * 200 + ".example",  # past the column
]
REFUSED_IDS = ["http", "wss", "no-scheme", "no-host", "credentials", "space", "long"]


def configure(*args: str, chain_id: str = "5") -> str:
    """``configure_chain`` with an RPC that refuses at once; returns its output."""
    out = StringIO()
    call_command(
        "configure_chain",
        "--chain-id",
        chain_id,
        "--name",
        "X",
        "--rpc-url",
        f"http://127.0.0.1:{free_port()}",
        "--usdc",
        USDC,
        *args,
        stdout=out,
        stderr=StringIO(),
    )
    return out.getvalue()


# --- the model ------------------------------------------------------------------------


def test_a_chain_has_no_public_rpc_url_by_default(db):
    chain = Chain.objects.create(chain_id=5, name="X", usdc_address=USDC)
    assert chain.public_rpc_url == ""
    chain.full_clean()


@pytest.mark.parametrize("url", REFUSED, ids=REFUSED_IDS)
def test_the_model_refuses_a_url_that_is_not_plain_https(db, url):
    chain = Chain(chain_id=5, name="X", usdc_address=USDC, public_rpc_url=url)
    with pytest.raises(ValidationError) as caught:
        chain.full_clean()
    assert "public_rpc_url" in caught.value.message_dict


# --- configure_chain --public-rpc-url (D31: only added, the others unchanged) -----


def test_configure_chain_sets_keeps_and_clears_the_public_rpc_url(db):
    out = configure("--public-rpc-url", PUBLIC)
    chain = Chain.objects.get(pk=5)
    assert chain.public_rpc_url == PUBLIC
    assert f"public RPC {PUBLIC}" in out

    configure()  # not given: kept, as flags and confirmations are
    chain.refresh_from_db()
    assert chain.public_rpc_url == PUBLIC

    out = configure("--public-rpc-url", "")
    chain.refresh_from_db()
    assert chain.public_rpc_url == ""
    assert "public RPC" not in out


@pytest.mark.parametrize("url", REFUSED, ids=REFUSED_IDS)
def test_configure_chain_refuses_a_public_rpc_url_that_is_not_plain_https(db, url):
    # The option's own one-line refusal (not argparse's "unrecognized").
    with pytest.raises(CommandError, match=r"^--public-rpc-url (must|is not)"):
        configure("--public-rpc-url", url)
    assert not Chain.objects.filter(pk=5).exists()


def test_configure_chain_refusing_it_keeps_the_chain_as_it_was(db):
    configure("--public-rpc-url", PUBLIC)
    with pytest.raises(CommandError, match="must be an https URL"):
        configure("--public-rpc-url", "http://rpc.example.org")
    assert Chain.objects.get(pk=5).public_rpc_url == PUBLIC


# --- the admin ------------------------------------------------------------------------

CHAINS = "/admin/payments/chain/"


def admin_post(admin_client, chain: Chain, public_rpc_url: str):
    url = f"{CHAINS}{chain.pk}/change/"
    return admin_client.post(
        url,
        {
            "loaded_as": drawn(admin_client, url),
            "name": chain.name,
            "usdc_address": chain.usdc_address,
            "decimals": "6",
            "confirmations": "1",
            "kind": "local",
            "rpc_urls_text": "http://127.0.0.1:1",
            "public_rpc_url": public_rpc_url,
        },
    )


@pytest.fixture
def chain(db):
    return Chain.objects.create(
        chain_id=31337,
        name="Local",
        is_local=True,
        usdc_address=USDC,
        confirmations=1,
        rpc_urls=["http://127.0.0.1:1"],
    )


def test_the_admin_shows_and_saves_the_public_rpc_url(admin_client, chain):
    page = admin_client.get(f"{CHAINS}{chain.pk}/change/").content.decode()
    assert 'name="public_rpc_url"' in page
    assert "Public RPC URL" in page

    response = admin_post(admin_client, chain, PUBLIC)
    assert response.status_code == 302
    chain.refresh_from_db()
    assert chain.public_rpc_url == PUBLIC
    page = admin_client.get(f"{CHAINS}{chain.pk}/change/").content.decode()
    assert f'value="{PUBLIC}"' in page

    admin_post(admin_client, chain, "")  # blank clears it
    chain.refresh_from_db()
    assert chain.public_rpc_url == ""


@pytest.mark.parametrize(
    "url",
    ["http://rpc.example.org", "https://user:pw@rpc.example.org"],
    ids=["http", "credentials"],
)
def test_the_admin_form_refuses_a_url_that_is_not_plain_https(admin_client, chain, url):
    response = admin_post(admin_client, chain, url)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"public_rpc_url"}
    chain.refresh_from_db()
    assert chain.public_rpc_url == ""
