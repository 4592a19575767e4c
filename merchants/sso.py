"""Portal single sign-on with an OIDC ID token (decisions.md D33, D35).

``sso_authenticate`` turns a raw ID token into the portal user it names, or
raises ``JoPayError(invalid_id_token)``. It checks, in this order:

* the JWKS URL is https (plain http only for a loopback host, D35);
* the signature, with the key the token's ``kid`` names in the JWKS
  (RS256 or ES256 only: never ``none`` or an HMAC with a public key), and
  only with the algorithm that key is for: RS256 for an RSA key, ES256 for a
  P-256 key, narrowed by the JWK's own ``alg``; a header that names another
  (ES256 with an RSA key's ``kid``) is refused before any key is used;
* issuer, audience (and ``azp`` for a token of several audiences), ``exp``
  and ``nbf`` with 60 s leeway;
* an ``email`` claim (in Unicode normal form C), and ``email_verified`` true
  whenever it is present;
* the ``nonce`` claim equals the single-use nonce JoPay handed out with the
  login page (cookie ``jopay_sso_nonce``); the nonce is burnt on first use,
  so a captured token + cookie pair cannot be replayed;
* the e-mail belongs to an active user of an active partner.

Network I/O (the JWKS fetch) happens here, never inside a transaction.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import unicodedata
from dataclasses import dataclass

import jwt
import redis
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.cache import cache
from django.db import DatabaseError

from jopay_project.env import https_or_loopback_http
from jopay_project.errors import ErrorCode, JoPayError

from .models import PartnerUser

logger = logging.getLogger("jopay.sso")

NONCE_COOKIE = "jopay_sso_nonce"
NONCE_TTL_SECONDS = 15 * 60
ALGORITHMS = ["RS256", "ES256"]
LEEWAY_SECONDS = 60
JWKS_TIMEOUT_SECONDS = 5
_NONCE_CACHE_PREFIX = "portal:sso-nonce-used:"

_clients: dict[str, jwt.PyJWKClient] = {}
_clients_lock = threading.Lock()


@dataclass(frozen=True)
class SsoConfig:
    issuer: str
    audience: str
    jwks_url: str


def sso_config() -> SsoConfig | None:
    """The three settings, or None when SSO is off (the endpoint then 404s)."""
    issuer = settings.JOPAY_OIDC_ISSUER
    audience = settings.JOPAY_OIDC_AUDIENCE
    jwks_url = settings.JOPAY_OIDC_JWKS_URL
    if not (issuer and audience and jwks_url):
        return None
    return SsoConfig(issuer=issuer, audience=audience, jwks_url=jwks_url)


def jwks_url_allowed(url: str) -> bool:
    """https anywhere; http only to a loopback host (a local IdP in development).

    The settings refuse any other URL at start-up; checked again here for a
    value set at run time (tests' ``settings`` fixture)."""
    return https_or_loopback_http(url)


def _jwks_client(url: str) -> jwt.PyJWKClient:
    # One client per URL: it caches the key set between logins and refetches
    # when a token names a key id it has not seen (the IdP rotated keys).
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = jwt.PyJWKClient(url, timeout=JWKS_TIMEOUT_SECONDS)
            _clients[url] = client
        return client


# --- the single-use nonce ---------------------------------------------------------


def nonce_issue() -> str:
    """A fresh nonce: random, signed and stamped, so JoPay knows it issued it.

    Serving the login page writes nothing: a nonce kept server-side from the
    moment it was handed out made every anonymous GET of ``/portal/login/`` a
    cache write (unbounded, and the page answered 500 while the cache was
    unreachable). Only its use is remembered (``nonce_consume``).
    """
    return _nonce_signer().sign(secrets.token_urlsafe(32))


def nonce_consume(nonce: str | None) -> bool:
    """Burn ``nonce``; True only the first time, for a live nonce we issued.

    Refused (False) when the store that remembers used nonces cannot be
    reached: sign-in fails closed, as the login limit does.
    """
    if not nonce or len(nonce) > 128:
        return False
    try:
        _nonce_signer().unsign(nonce, max_age=NONCE_TTL_SECONDS)
    except signing.BadSignature:  # also SignatureExpired
        return False
    try:
        # add() writes only if absent: of two uses, only the first is True.
        return bool(cache.add(_NONCE_CACHE_PREFIX + nonce, 1, NONCE_TTL_SECONDS))
    except (redis.RedisError, OSError, DatabaseError):  # the store is down
        logger.warning("SSO nonce store unreachable; sign-in refused")
        return False


def _nonce_signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt="jopay.portal.sso-nonce")


# --- verification -------------------------------------------------------------------


def _invalid(reason: str) -> JoPayError:
    # %r: the reason may quote the token's own header (PyJWT names an unknown
    # ``kid``); a newline in it must not forge a line of the log.
    logger.info("SSO token refused: %r", reason)
    return JoPayError(ErrorCode.INVALID_ID_TOKEN)


def _key_algorithms(signing_key: jwt.PyJWK) -> frozenset[str]:
    """What ``signing_key`` may verify: its key type's algorithm, narrowed by ``alg``.

    ``PyJWK.algorithm_name`` is the JWK's ``alg`` when it has one, else the one
    PyJWT infers from ``kty``/``crv``; either way it must also be the algorithm
    the key material is for, so a JWK that says ``PS256`` or an Ed25519, HMAC
    or P-384 key verifies nothing here.
    """
    key = signing_key.key
    if isinstance(key, rsa.RSAPublicKey):
        by_type = {"RS256"}
    elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(
        key.curve, ec.SECP256R1
    ):
        by_type = {"ES256"}
    else:
        by_type = set()
    return frozenset(by_type & {signing_key.algorithm_name})


def _claims(token: str, config: SsoConfig) -> dict:
    if not jwks_url_allowed(config.jwks_url):
        logger.error("JOPAY_OIDC_JWKS_URL must be https (http only for loopback)")
        raise _invalid("jwks url not allowed")
    if not token.isascii():
        # A compact JWT is base64url and dots. PyJWT encodes the text first,
        # and a lone surrogate (valid JSON: "\\ud800") raised UnicodeEncodeError.
        raise _invalid("malformed: not ASCII")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise _invalid(f"malformed: {exc}") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise _invalid(f"algorithm {alg!r}")
    # Every failure below is the token's (or the IdP's) fault, never a 500:
    # PyJWT raises TypeError/ValueError, not PyJWTError, for some key and
    # payload mismatches, a JWKS body that is not JSON is a ValueError, and a
    # connection reset while reading that body is a bare OSError.
    try:
        signing_key = _jwks_client(config.jwks_url).get_signing_key_from_jwt(token)
    except (
        jwt.PyJWTError,
        jwt.PyJWKClientError,
        TypeError,
        ValueError,
        OSError,
    ) as exc:
        raise _invalid(f"signing key: {type(exc).__name__}: {exc}") from None
    allowed = _key_algorithms(signing_key)
    if alg not in allowed:
        # Checked before the key is used: handing an RSA key to the ES256
        # verifier (or the reverse) is an algorithm-confusion attempt.
        raise _invalid(
            f"algorithm {alg!r} does not fit key {signing_key.key_id!r} "
            f"({signing_key.key_type}, allows {sorted(allowed)})"
        )
    try:
        claims = jwt.decode(
            token,
            key=signing_key.key,
            algorithms=[alg],
            audience=config.audience,
            issuer=config.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud"]},
        )
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise _invalid(f"{type(exc).__name__}: {exc}") from None
    # OIDC Core 3.1.3.7: ``aud`` may merely include us; a token for several
    # audiences (or naming an authorised party) must have been issued to us.
    aud, azp = claims.get("aud"), claims.get("azp")
    several = isinstance(aud, list) and len(aud) > 1
    if (several or azp is not None) and azp != config.audience:
        raise _invalid(f"azp {azp!r} is not this client")
    return claims


def _is_text(value: object) -> bool:
    """A string PostgreSQL and ``str.encode`` take: JSON's ``"\\ud800"`` escape
    decodes to a lone surrogate, and a NUL is valid JSON too. Either one in
    the e-mail or nonce raised out of the lookup (a 500, not D33's 401)."""
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def sso_authenticate(
    *, id_token: str, cookie_nonce: str | None, config: SsoConfig
) -> PartnerUser:
    """The active partner user the verified token names; else ``invalid_id_token``.

    The cookie's nonce is consumed by this call whatever the outcome, so each
    login page serves exactly one attempt.
    """
    nonce_live = nonce_consume(cookie_nonce)
    claims = _claims(id_token, config)
    email = claims.get("email")
    if not _is_text(email) or "@" not in email:
        raise _invalid("no email claim")
    if unicodedata.normalize("NFC", email) != email:
        # The account is found by the lower-cased address, and lower() folds
        # these look-alikes into other letters: the Kelvin sign (U+212A) into
        # an ASCII "k", the Angstrom sign into "å". A token for the mailbox
        # "\u212aate@…" signed in kate@…; no real address is spelt so.
        raise _invalid("email not in Unicode normal form C")
    if "email_verified" in claims and claims["email_verified"] is not True:
        raise _invalid("email not verified")
    nonce = claims.get("nonce")
    if (
        not nonce_live
        or not _is_text(nonce)
        or not hmac.compare_digest(nonce.encode(), (cookie_nonce or "").encode())
    ):
        raise _invalid("nonce missing, reused or different")
    # A staff account never signs in through the identity provider: its
    # session would be an admin session on the provider's word alone, without
    # the admin password or the admin login's limits. It is answered like an
    # unknown e-mail (D33).
    user = (
        get_user_model()
        .objects.filter(
            username=email.strip().lower(),
            is_active=True,
            is_staff=False,
            is_superuser=False,
        )
        .first()
    )
    partner_user = (
        PartnerUser.objects.select_related("partner", "user")
        .filter(user=user, partner__is_active=True)
        .first()
        if user is not None
        else None
    )
    if partner_user is None:
        raise _invalid("no active partner user for that e-mail")
    return partner_user
