"""The SSO endpoint answers every method in the JSON envelope (D33, errors page).

``require_POST`` gave Django's empty HTML 405, also where SSO is not
configured and the endpoint is documented to answer 404 ``not_found``.
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.portal.test_sso import code, jwks_server, keys, oidc  # noqa: F401

pytestmark = pytest.mark.django_db

URL = "/portal/login/id-token"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_another_method_is_a_json_405(oidc, method):  # noqa: F811
    response = Client().generic(method, URL)
    assert (response.status_code, code(response)) == (405, "method_not_allowed")
    assert response["Allow"] == "POST"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_without_sso_every_method_is_a_json_404(settings, method):
    settings.JOPAY_OIDC_ISSUER = ""
    response = Client().generic(method, URL)
    assert (response.status_code, code(response)) == (404, "not_found")
