"""A live onboarding token never reaches a log line.

Django's CSRF warning quotes the request path: a merchant whose browser
blocked the cookie put ``/onboard/<token>/``, a credential, in the logs.
"""

from __future__ import annotations

import logging

from jopay_project.logfilters import RedactOnboardingTokens
from tests.foundation.deployed import PRODUCTION, run_deployed

TOKEN = "gRFvSY-the-whole-live-token-0123456789abcdef"


def _record() -> logging.LogRecord:
    return logging.LogRecord(
        "django.security.csrf",
        logging.WARNING,
        __file__,
        1,
        "Forbidden (%s): %s",
        ("CSRF cookie not set.", f"/onboard/{TOKEN}/"),
        None,
    )


def test_the_deployed_logging_redacts_onboarding_paths():
    # Production settings (the test settings log nowhere; with DEBUG on,
    # Django's own console handler prints django.* a second time, unfiltered).
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('django.security.csrf').warning("
        f"'Forbidden (%s): %s', 'CSRF cookie not set.', '/onboard/{TOKEN}/')"
    )
    result = run_deployed(code, **PRODUCTION)
    assert "Forbidden (CSRF cookie not set.): /onboard/<redacted>/" in result.stderr
    assert TOKEN not in result.stderr


def test_other_messages_pass_unchanged():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "paid %s", ("R1",), None)
    assert RedactOnboardingTokens().filter(record)
    assert record.getMessage() == "paid R1"
