"""The SSO nonce costs the server nothing until it is used (D33, D27).

The login page hands every visitor a nonce. Kept in the cache from the moment
it was handed out, each anonymous GET of ``/portal/login/`` was a cache write
(20 GETs, 20 keys: a loop of GETs filled Redis, which also holds the rate
limits and the Celery broker), and with the cache unreachable the page itself
answered 500, so nobody could even see the sign-in form. The nonce is now
signed and stamped; only its use is remembered, which keeps it single-use.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from merchants import sso
from tests.portal import test_sso
from tests.portal.test_sso import code, post_json, signed_in, token

# The SSO tests' real JWKS server, keys and settings.
keys, jwks_server, oidc = test_sso.keys, test_sso.jwks_server, test_sso.oidc

pytestmark = pytest.mark.django_db


def _nonce_keys() -> list:
    return cache._cache.get_client().keys("*sso-nonce*")


def test_serving_the_login_page_writes_nothing_to_the_cache(oidc):
    for _ in range(20):
        response = Client().get("/portal/login/")
        assert sso.NONCE_COOKIE in response.cookies

    assert _nonce_keys() == []


def test_the_login_page_renders_while_the_cache_is_unreachable(oidc, counters_down):
    response = Client().get("/portal/login/")

    assert response.status_code == 200
    assert sso.NONCE_COOKIE in response.cookies


def test_a_nonce_signed_for_another_purpose_is_refused(oidc, keys, alice_user):
    from django.core import signing

    forged = signing.TimestampSigner().sign("attacker-chosen")
    client = Client()
    client.cookies[sso.NONCE_COOKIE] = forged
    response = post_json(client, {"id_token": token(keys, nonce=forged)})

    assert (response.status_code, code(response)) == (401, "invalid_id_token")
    assert not signed_in(client)


def test_an_expired_nonce_is_refused(oidc, keys, alice_user, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    client = Client()
    nonce = client.get("/portal/login/").cookies[sso.NONCE_COOKIE].value
    time_machine.shift(sso.NONCE_TTL_SECONDS + 5)

    response = post_json(client, {"id_token": token(keys, nonce=nonce)})

    assert (response.status_code, code(response)) == (401, "invalid_id_token")


def test_the_nonce_store_unreachable_at_use_refuses_the_nonce(oidc, counters_down):
    nonce = sso.nonce_issue()

    assert sso.nonce_consume(nonce) is False
