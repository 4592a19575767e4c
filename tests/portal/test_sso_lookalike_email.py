"""D33: an ID token signs in only the account its ``email`` claim names.

The e-mail used to be matched after ``str.lower()``, which folds a few
non-ASCII letters into other letters: the Kelvin sign (U+212A) becomes an
ASCII ``k``, the Angstrom sign (U+212B) becomes ``å``. A token the identity
provider issued for ``\u212aate@example.com`` (another mailbox, which the
provider may well have verified) signed in ``kate@example.com``.
"""

from __future__ import annotations

import pytest

from tests.factories import PartnerUserFactory, UserFactory
from tests.portal.test_sso import (  # noqa: F401 (fixtures)
    browser,
    code,
    jwks_server,
    keys,
    oidc,
    post_json,
    signed_in,
    token,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(partner):
    for email in ("kate@example.com", "\u00e5sa@example.com"):
        user = UserFactory(username=email, email=email)
        PartnerUserFactory(user=user, partner=partner)


def _sign_in(client, keys, email):  # noqa: F811
    return post_json(client, {"id_token": token(keys, nonce=client.nonce, email=email)})


@pytest.mark.parametrize(
    "email",
    [
        "\u212aate@example.com",  # Kelvin sign: lower() is an ASCII "k"
        "\u212bsa@example.com",  # Angstrom sign: lower() is "å"
    ],
)
def test_a_look_alike_e_mail_signs_in_no_account(browser, keys, users, email):  # noqa: F811
    response = _sign_in(browser, keys, email)
    assert (response.status_code, code(response)) == (401, "invalid_id_token")
    assert not signed_in(browser)


@pytest.mark.parametrize(
    "email", ["Kate@Example.com", "\u00c5sa@example.com", "\u00e5sa@example.com"]
)
def test_the_accounts_own_spellings_still_sign_in(browser, keys, users, email):  # noqa: F811
    response = _sign_in(browser, keys, email)
    assert response.status_code == 200
    assert signed_in(browser)
