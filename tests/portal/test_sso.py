"""Portal single sign-on with an OIDC ID token (D33, D35).

A real JWKS server (``http.server`` on 127.0.0.1) publishes test RSA and EC
keys; tokens are signed with PyJWT. The login page hands out the single-use
nonce in the ``jopay_sso_nonce`` cookie, as a browser would receive it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.test import Client

from merchants import sso

pytestmark = pytest.mark.django_db

ISSUER = "https://idp.example.test"
AUDIENCE = "jopay-portal"


class Keys:
    def __init__(self):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.rsa_kid = "rsa-" + uuid.uuid4().hex[:8]
        self.ec_kid = "ec-" + uuid.uuid4().hex[:8]
        # An RSA key the IdP publishes for PS256 only (its JWK says so).
        self.pss = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pss_kid = "pss-" + uuid.uuid4().hex[:8]

    def jwks(self) -> dict:
        rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa.public_key()))
        ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec.public_key()))
        rsa_jwk.update(kid=self.rsa_kid, use="sig", alg="RS256")
        ec_jwk.update(kid=self.ec_kid, use="sig", alg="ES256")
        pss_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.pss.public_key()))
        pss_jwk.update(kid=self.pss_kid, use="sig", alg="PS256")
        return {"keys": [rsa_jwk, ec_jwk, pss_jwk]}


@pytest.fixture(scope="module")
def keys():
    return Keys()


@pytest.fixture(scope="module")
def jwks_server(keys):
    body = json.dumps(keys.jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()
    server.server_close()


@pytest.fixture
def oidc(settings, jwks_server):
    settings.JOPAY_OIDC_ISSUER = ISSUER
    settings.JOPAY_OIDC_AUDIENCE = AUDIENCE
    settings.JOPAY_OIDC_JWKS_URL = jwks_server
    return settings


@pytest.fixture
def browser(oidc):
    """A client that loaded the login page, so it holds a fresh nonce cookie."""
    client = Client()
    response = client.get("/portal/login/")
    assert response.status_code == 200
    client.nonce = response.cookies[sso.NONCE_COOKIE].value
    return client


def token(keys, *, alg="RS256", kid=None, key=None, **overrides) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "email": "alice@example.com",
        "email_verified": True,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    if key is None:
        key = keys.rsa if alg.startswith("RS") else keys.ec
    if kid is None:
        kid = keys.rsa_kid if alg.startswith("RS") else keys.ec_kid
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def post_json(client, body):
    return client.post(
        "/portal/login/id-token", json.dumps(body), content_type="application/json"
    )


def code(response) -> str:
    return response.json()["error"]


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- success -----------------------------------------------------------------------


def test_json_token_signs_in_and_answers_redirect(browser, keys, alice_user):
    response = post_json(browser, {"id_token": token(keys, nonce=browser.nonce)})
    assert response.status_code == 200
    assert response.json() == {"ok": True, "redirect": "/portal/"}
    assert signed_in(browser)
    assert browser.get("/portal/").status_code == 200


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
def test_a_staff_account_cannot_sign_in_through_the_identity_provider(
    browser, keys, alice_user, flag
):
    # Its session would open the admin on the provider's word alone.
    setattr(alice_user.user, flag, True)
    alice_user.user.save()
    response = post_json(browser, {"id_token": token(keys, nonce=browser.nonce)})
    assert code(response) == "invalid_id_token"
    assert not signed_in(browser)


def test_form_token_signs_in_and_redirects(browser, keys, alice_user):
    response = browser.post(
        "/portal/login/id-token", {"id_token": token(keys, nonce=browser.nonce)}
    )
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert signed_in(browser)


def test_es256_tokens_are_accepted(browser, keys, alice_user):
    response = post_json(
        browser, {"id_token": token(keys, alg="ES256", nonce=browser.nonce)}
    )
    assert response.status_code == 200


def test_the_endpoint_is_csrf_exempt(oidc, keys, alice_user):
    """D35: the signed token with its single-use nonce is the proof."""
    client = Client(enforce_csrf_checks=True)
    nonce = client.get("/portal/login/").cookies[sso.NONCE_COOKIE].value
    response = post_json(client, {"id_token": token(keys, nonce=nonce)})
    assert response.status_code == 200


def test_the_slash_form_of_the_route_answers_too(browser, keys, alice_user):
    response = browser.post(
        "/portal/login/id-token/",
        json.dumps({"id_token": token(keys, nonce=browser.nonce)}),
        content_type="application/json",
    )
    assert response.status_code == 200


def test_clock_skew_within_60_seconds_is_tolerated(browser, keys, alice_user):
    now = int(time.time())
    response = post_json(
        browser,
        {
            "id_token": token(
                keys, nonce=browser.nonce, exp=now - 30, nbf=now + 30, iat=now - 600
            )
        },
    )
    assert response.status_code == 200


def test_a_token_without_email_verified_is_accepted(browser, keys, alice_user):
    response = post_json(
        browser, {"id_token": token(keys, nonce=browser.nonce, email_verified=None)}
    )
    assert response.status_code == 200


def test_email_case_does_not_matter(browser, keys, alice_user):
    response = post_json(
        browser,
        {"id_token": token(keys, nonce=browser.nonce, email="ALICE@example.com")},
    )
    assert response.status_code == 200


# --- refusals ----------------------------------------------------------------------


@pytest.mark.parametrize("body", [{}, {"id_token": ""}, {"id_token": None}, [1, 2]])
def test_no_token_is_missing_id_token(browser, body):
    response = post_json(browser, body)
    assert response.status_code == 401
    assert code(response) == "missing_id_token"


@pytest.mark.parametrize("token", [42, ["a.b.c"], {"jwt": "a.b.c"}, True])
def test_a_token_of_another_json_type_is_invalid_id_token(browser, token):
    """errors.md: invalid_id_token is a token sent but malformed; missing_id_token
    is none sent."""
    response = post_json(browser, {"id_token": token})
    assert (response.status_code, code(response)) == (401, "invalid_id_token")


def test_empty_form_is_missing_id_token(browser):
    response = browser.post("/portal/login/id-token", {})
    assert (response.status_code, code(response)) == (401, "missing_id_token")


def test_malformed_json_is_missing_id_token(browser):
    response = browser.post(
        "/portal/login/id-token", "{nope", content_type="application/json"
    )
    assert (response.status_code, code(response)) == (401, "missing_id_token")


def test_too_deep_json_is_missing_id_token_not_a_500(browser):
    deep = '{"id_token": ' + "[" * 5000 + "]" * 5000 + "}"
    response = browser.post(
        "/portal/login/id-token", deep, content_type="application/json"
    )
    assert (response.status_code, code(response)) == (401, "missing_id_token")


def _bad_claims(keys):
    now = int(time.time())
    return {
        "wrong issuer": {"iss": "https://evil.example"},
        "wrong audience": {"aud": "someone-else"},
        # OIDC Core 3.1.3.7: a token for several audiences names the one it
        # was issued to in azp; one issued to another client is not ours.
        "several audiences, no azp": {"aud": [AUDIENCE, "other-client"]},
        "several audiences, azp another client": {
            "aud": [AUDIENCE, "other-client"],
            "azp": "other-client",
        },
        "azp another client": {"azp": "other-client"},
        "expired beyond leeway": {"exp": now - 120, "iat": now - 900},
        "not yet valid beyond leeway": {"nbf": now + 120},
        "no exp": {"exp": None},
        "no email": {"email": None},
        "email not a string": {"email": ["alice@example.com"]},
        "email not verified": {"email_verified": False},
        "email_verified as a string": {"email_verified": "true"},
        "unknown user": {"email": "mallory@example.com"},
    }


@pytest.mark.parametrize(
    "case",
    [
        "wrong issuer",
        "wrong audience",
        "several audiences, no azp",
        "several audiences, azp another client",
        "azp another client",
        "expired beyond leeway",
        "not yet valid beyond leeway",
        "no exp",
        "no email",
        "email not a string",
        "email not verified",
        "email_verified as a string",
        "unknown user",
    ],
)
def test_bad_claims_are_invalid_id_token(browser, keys, alice_user, case):
    claims = _bad_claims(keys)[case]
    response = post_json(
        browser, {"id_token": token(keys, nonce=browser.nonce, **claims)}
    )
    assert response.status_code == 401
    assert code(response) == "invalid_id_token"
    assert not signed_in(browser)


def test_several_audiences_with_our_azp_sign_in(browser, keys, alice_user):
    response = post_json(
        browser,
        {
            "id_token": token(
                keys, nonce=browser.nonce, aud=[AUDIENCE, "api"], azp=AUDIENCE
            )
        },
    )
    assert response.status_code == 200
    assert signed_in(browser)


def test_a_signature_by_another_key_is_refused(browser, keys, alice_user):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = post_json(
        browser, {"id_token": token(keys, key=other, nonce=browser.nonce)}
    )
    assert (response.status_code, code(response)) == (401, "invalid_id_token")


def test_an_unknown_key_id_is_refused(browser, keys, alice_user):
    response = post_json(
        browser, {"id_token": token(keys, kid="nobody", nonce=browser.nonce)}
    )
    assert (response.status_code, code(response)) == (401, "invalid_id_token")


def test_hmac_tokens_are_refused(browser, keys, alice_user):
    forged = jwt.encode(
        {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "email": "alice@example.com",
            "exp": int(time.time()) + 60,
            "nonce": browser.nonce,
        },
        "a-shared-secret-of-at-least-32-bytes!!",
        algorithm="HS256",
        headers={"kid": keys.rsa_kid},
    )
    response = post_json(browser, {"id_token": forged})
    assert (response.status_code, code(response)) == (401, "invalid_id_token")


@pytest.mark.parametrize("garbage", ["not.a.jwt", "\ud800", "eyJ\ud800.x.y", "é.x.y"])
def test_garbage_is_invalid_id_token(browser, garbage):
    # A lone surrogate (valid JSON) was a 500: PyJWT raised UnicodeEncodeError.
    browser.raise_request_exception = False
    response = post_json(browser, {"id_token": garbage})
    assert (response.status_code, code(response)) == (401, "invalid_id_token")


def test_inactive_user_and_inactive_partner_are_refused(browser, keys, alice_user):
    alice_user.user.is_active = False
    alice_user.user.save()
    response = post_json(browser, {"id_token": token(keys, nonce=browser.nonce)})
    assert code(response) == "invalid_id_token"


def test_user_of_a_deactivated_partner_is_refused(browser, keys, alice_user, partner):
    partner.is_active = False
    partner.save()
    response = post_json(browser, {"id_token": token(keys, nonce=browser.nonce)})
    assert code(response) == "invalid_id_token"


# --- the algorithm must fit the key (D33: a bad signature is invalid_id_token) -------


@pytest.mark.parametrize(
    ("alg", "kid_of"),
    [("ES256", "rsa_kid"), ("RS256", "ec_kid")],
    ids=["ES256 header, RSA key", "RS256 header, EC key"],
)
def test_a_header_algorithm_that_does_not_fit_the_key_is_refused(
    browser, keys, alice_user, alg, kid_of
):
    """Algorithm confusion: the header names an algorithm of the other key type."""
    forged = token(keys, alg=alg, kid=getattr(keys, kid_of), nonce=browser.nonce)
    response = post_json(browser, {"id_token": forged})
    assert (response.status_code, code(response)) == (401, "invalid_id_token")
    assert not signed_in(browser)


def test_an_algorithm_other_than_the_jwks_alg_is_refused(browser, keys, alice_user):
    """The JWK's own ``alg`` narrows what its key verifies: PS256 here, not RS256."""
    forged = token(
        keys, alg="RS256", key=keys.pss, kid=keys.pss_kid, nonce=browser.nonce
    )
    response = post_json(browser, {"id_token": forged})
    assert (response.status_code, code(response)) == (401, "invalid_id_token")
    assert not signed_in(browser)


@pytest.mark.parametrize("kid_of", ["rsa_kid", "ec_kid"])
def test_alg_none_is_refused(browser, keys, alice_user, kid_of):
    now = int(time.time())
    unsigned = jwt.encode(
        {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "email": "alice@example.com",
            "exp": now + 60,
            "nonce": browser.nonce,
        },
        None,
        algorithm="none",
        headers={"kid": getattr(keys, kid_of)},
    )
    response = post_json(browser, {"id_token": unsigned})
    assert (response.status_code, code(response)) == (401, "invalid_id_token")
    assert not signed_in(browser)


def test_algorithm_mismatches_count_against_the_login_limit(oidc, keys, alice_user):
    """D27: these refusals are ordinary failures, throttled like the others."""
    attacker = Client()
    for _ in range(10):
        forged = token(keys, alg="ES256", kid=keys.rsa_kid, nonce="n")
        assert code(post_json(attacker, {"id_token": forged})) == "invalid_id_token"
    fresh = Client()
    nonce = fresh.get("/portal/login/").cookies[sso.NONCE_COOKIE].value
    response = post_json(fresh, {"id_token": token(keys, nonce=nonce)})
    assert (response.status_code, code(response)) == (429, "rate_limited")


# --- the nonce (login CSRF and replay, D33) ------------------------------------------


def test_token_without_nonce_is_refused(browser, keys, alice_user):
    response = post_json(browser, {"id_token": token(keys)})
    assert (response.status_code, code(response)) == (401, "invalid_id_token")


def test_nonce_different_from_the_cookie_is_refused(browser, keys, alice_user):
    response = post_json(browser, {"id_token": token(keys, nonce="other-nonce")})
    assert (response.status_code, code(response)) == (401, "invalid_id_token")


def test_no_nonce_cookie_is_refused(oidc, keys, alice_user):
    """A token pushed into a victim's browser without our login page (login CSRF)."""
    client = Client()
    response = post_json(client, {"id_token": token(keys, nonce="whatever")})
    assert (response.status_code, code(response)) == (401, "invalid_id_token")


def test_a_forged_cookie_matching_the_token_is_refused(oidc, keys, alice_user):
    """The nonce must be one JoPay issued, not merely equal in cookie and token."""
    client = Client()
    client.cookies[sso.NONCE_COOKIE] = "attacker-chosen"
    response = post_json(client, {"id_token": token(keys, nonce="attacker-chosen")})
    assert (response.status_code, code(response)) == (401, "invalid_id_token")


def test_the_nonce_is_single_use(browser, keys, alice_user):
    good = token(keys, nonce=browser.nonce)
    assert post_json(browser, {"id_token": good}).status_code == 200
    replay = Client()
    replay.cookies[sso.NONCE_COOKIE] = browser.nonce
    response = post_json(replay, {"id_token": good})
    assert (response.status_code, code(response)) == (401, "invalid_id_token")
    assert not signed_in(replay)


def test_a_failed_attempt_burns_the_nonce(browser, keys, alice_user):
    post_json(browser, {"id_token": token(keys, nonce=browser.nonce, aud="x")})
    browser.cookies[sso.NONCE_COOKIE] = browser.nonce
    response = post_json(browser, {"id_token": token(keys, nonce=browser.nonce)})
    assert code(response) == "invalid_id_token"


def test_the_login_page_sets_a_fresh_httponly_nonce_cookie(oidc):
    client = Client()
    first = client.get("/portal/login/").cookies[sso.NONCE_COOKIE]
    second = client.get("/portal/login/").cookies[sso.NONCE_COOKIE]
    assert first.value != second.value
    assert first["httponly"]
    assert first["samesite"] == "Lax"  # plain HTTP: None would need Secure


def test_on_https_the_nonce_cookie_comes_back_with_a_cross_site_form_post(oidc):
    """D33: the identity provider posts the token from its own site
    (response_mode=form_post); the browser sends a Lax cookie on no cross-site
    POST, so the nonce never arrived and every such sign-in failed."""
    cookie = Client().get("/portal/login/", secure=True).cookies[sso.NONCE_COOKIE]
    assert (cookie["samesite"], cookie["secure"], cookie["httponly"]) == (
        "None",
        True,
        True,
    )


# --- configuration --------------------------------------------------------------------


def test_without_the_settings_the_endpoint_is_404(client, settings, keys):
    settings.JOPAY_OIDC_ISSUER = ""
    response = post_json(client, {"id_token": token(keys)})
    assert response.status_code == 404
    assert code(response) == "not_found"
    assert sso.NONCE_COOKIE not in client.get("/portal/login/").cookies


def test_get_is_not_allowed(browser):
    assert browser.get("/portal/login/id-token").status_code == 405


def test_http_jwks_on_a_public_host_is_refused(browser, keys, alice_user, settings):
    settings.JOPAY_OIDC_JWKS_URL = "http://idp.example.test/jwks.json"
    response = post_json(browser, {"id_token": token(keys, nonce=browser.nonce)})
    assert (response.status_code, code(response)) == (401, "invalid_id_token")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://idp.example.com/jwks", True),
        ("http://127.0.0.1:8080/jwks", True),
        ("http://localhost/jwks", True),
        ("http://[::1]:9000/jwks", True),
        ("http://idp.example.com/jwks", False),
        ("http://10.0.0.5/jwks", False),
        ("ftp://127.0.0.1/jwks", False),
        ("https:///jwks", False),
    ],
)
def test_jwks_url_rule(url, allowed):
    assert sso.jwks_url_allowed(url) is allowed


def test_failures_are_throttled_per_address(browser, oidc, keys, alice_user):
    """D27: SSO failures count against the portal login limit of the address."""
    for _ in range(10):
        assert code(post_json(browser, {"id_token": "x.y.z"})) == "invalid_id_token"
    fresh = Client()
    nonce = fresh.get("/portal/login/").cookies[sso.NONCE_COOKIE].value
    response = post_json(fresh, {"id_token": token(keys, nonce=nonce)})
    assert (response.status_code, code(response)) == (429, "rate_limited")
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize(
    "claims",
    [
        {"email": "alice\ud800@example.com"},
        {"nonce": "\ud800"},
        {"email": "alice\x00@example.com"},
    ],
    ids=["email", "nonce", "email-nul"],
)
def test_claims_no_database_can_store_are_invalid_id_token_not_a_500(
    browser, keys, alice_user, claims
):
    # D33: a token the identity provider signed whose e-mail (or nonce) is not
    # text PostgreSQL can take (JSON's "\ud800" escape, a NUL) names no user:
    # invalid_id_token. The lookup raised UnicodeEncodeError / ValueError: a 500.
    signed = token(keys, **{"nonce": browser.nonce, **claims})
    response = post_json(browser, {"id_token": signed})
    assert (response.status_code, code(response)) == (401, "invalid_id_token")
    assert not signed_in(browser)
