"""Logging filters: what must never reach a log line."""

from __future__ import annotations

import logging
import re

_ONBOARDING_PATH = re.compile(r"/onboard/[^/\s]+/")


class RedactOnboardingTokens(logging.Filter):
    """Replace ``/onboard/<token>/`` with ``/onboard/<redacted>/`` in a record.

    The message is rendered once here, so its arguments (where Django puts
    the path) are covered too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/onboard/" in message:
            record.msg = _ONBOARDING_PATH.sub("/onboard/<redacted>/", message)
            record.args = None
        return True
