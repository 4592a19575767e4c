"""Spec §10.3: 20 recurring-plan operations an hour per merchant.

Create, pause, resume and cancel, over the API and in the portal, share one
counter per merchant (a partner may have it raised, like any limit, with the
``plans.merchant`` key of its ``rate_limit_overrides``); the per-key
one-minute limits of D27 apply as well. Staff in the admin are not counted.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest

from jopay_project import ratelimits
from jopay_project.errors import ErrorCode, JoPayError
from merchants.models import Partner

GROUP = "plans.merchant"


def plan_operation_count(
    request: HttpRequest, *, partner: Partner, merchant_id: uuid.UUID
) -> None:
    """Count one operation on a merchant's plans; ``rate_limited`` once over."""
    rate = partner.rate_limit_overrides.get(GROUP) or None
    usage = ratelimits.hit(request, GROUP, f"merchant:{merchant_id}", rate=rate)
    if usage.exceeded:
        # D27/D34: the refusal's X-RateLimit-* headers describe this window,
        # the one Retry-After waits for, not the key's (which had calls left).
        request.jopay_rate_usage = usage
        raise JoPayError(
            ErrorCode.RATE_LIMITED,
            retry_after=usage.reset,
            headers={"Retry-After": str(usage.reset)},
        )
