"""D2: every answer carries ``X-Request-Id``, the load-balancer probes' too.

The probes are answered by a middleware ahead of the host check and the
HTTPS redirect (``jopay_project.health``); it sat ahead of the one that sets
the id as well, so ``/healthz`` and ``/readyz`` were the only answers without
it, and a probe's line in the proxy's log could not be matched to the
application's.
"""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_the_probes_carry_a_request_id(path):
    assert uuid.UUID(Client().get(path)["X-Request-Id"])


def test_a_probe_echoes_a_sane_request_id():
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="lb-probe-0001")
    assert response["X-Request-Id"] == "lb-probe-0001"
