"""Counting portal sign-in failures (D27: 10 per 15 minutes, per client
address and per account), for the password form, the SSO sign-in, the
password page and the admin's login.

Each attempt is counted *before* its password is checked and given back when
it turns out not to be a failure (``login_attempt_start``), so parallel
guesses cannot all slip past a check made before any of them was counted.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field

from django.http import HttpRequest

from jopay_project import ratelimits

LOGIN_GROUP = "portal.login"


def _buckets(request: HttpRequest, email: str | None) -> list[str]:
    """The client address's bucket, and the account's when there is one."""
    buckets = [f"ip:{ratelimits.client_ip_hash(request)}"]
    if email is not None:
        # NFKC first, as Django's login form does: "ｏps" signs in as "ops",
        # so it must count against ops, not open a fresh bucket of its own.
        name = unicodedata.normalize("NFKC", email).strip().lower()
        account = hashlib.sha256(name.encode()).hexdigest()[:32]
        buckets.append(f"user:{account}")
    return buckets


@dataclass
class LoginAttempt:
    """One sign-in attempt, already counted as a failure (D27)."""

    wait: int  # seconds until the caller may try again; 0: go ahead
    counted: list[ratelimits.Usage] = field(default_factory=list)
    # The counters were unreachable: refused because sign-in fails closed, not
    # because of anyone's failures.
    unavailable: bool = False

    def forgive(self) -> None:
        """Not a failure after all (signed in, or nothing was checked): uncount it."""
        for usage in self.counted:
            ratelimits.take_back(usage)
        self.counted = []


def login_attempt_start(request: HttpRequest, email: str | None) -> LoginAttempt:
    """Count one attempt per address and per account (``None``: address only)
    *before* any password or token is checked; ``wait`` > 0 refuses it.

    D27 allows 10 failures per 15 minutes. Checking the counters first and
    counting after the (slow) password check let N parallel guesses all pass
    the check. Here the atomic increment is the check: of N parallel attempts
    only those the counters have room for go on, so at most 10 are ever being
    checked or have failed. A refused attempt is uncounted at once (nothing was
    tried); the caller ``forgive()``s one that signs in, so a legitimate
    sign-in costs nothing. With the counters unreachable every attempt is
    refused (``portal.login`` fails closed, jopay_project/ratelimits.py).
    """
    counted = [
        ratelimits.hit(request, LOGIN_GROUP, bucket, increment=True)
        for bucket in _buckets(request, email)
    ]
    attempt = LoginAttempt(
        wait=max((u.reset for u in counted if u.exceeded), default=0),
        counted=counted,
        unavailable=any(not u.counted for u in counted),
    )
    if attempt.wait:
        attempt.forgive()
    return attempt


def login_refusal_text(
    attempt: LoginAttempt, *, what: str = "Sign-in", failures: str = "failed sign-ins"
) -> str:
    """Why a sign-in (or a password change, ``what``) was refused, with the
    wait its ``Retry-After`` gives."""
    if attempt.unavailable:
        # Sign-in fails closed without its counters (D27): not the user's
        # failures, so the page does not say it is.
        reason = f"{what} is briefly unavailable."
    else:
        reason = f"Too many {failures}."
    return f"{reason} Try again in {_duration(attempt.wait)}."


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    minutes = -(-seconds // 60)  # rounded up: never sooner than Retry-After
    return f"{minutes} minute{'' if minutes == 1 else 's'}"
