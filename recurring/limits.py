"""Spec §10.3: 20 recurring-plan operations an hour per merchant.

Create, pause, resume and cancel, over the API and in the portal, share one
counter per merchant (a partner may have it raised, like any limit, with the
``plans.merchant`` key of its ``rate_limit_overrides``); the per-key
one-minute limits of D27 apply as well. Staff in the admin are not counted.
A create answered as a replay (D17) is no operation: its count is taken back.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest

from jopay_project import ratelimits
from jopay_project.errors import ErrorCode, JoPayError
from merchants.models import Partner

GROUP = "plans.merchant"


def plan_operation_hit(
    request: HttpRequest, *, partner: Partner, merchant_id: uuid.UUID
) -> ratelimits.Usage:
    """Count one operation on a merchant's plans; its usage says if it is over."""
    rate = partner.rate_limit_overrides.get(GROUP) or None
    return ratelimits.hit(request, GROUP, f"merchant:{merchant_id}", rate=rate)


def plan_operation_refusal(usage: ratelimits.Usage) -> JoPayError:
    """The ``rate_limited`` answer to an operation over the merchant's budget.

    Whoever raises it sets ``request.jopay_rate_usage = usage``: D27/D34, the
    refusal's X-RateLimit-* headers describe this window, the one Retry-After
    waits for, not the key's (which had calls left).
    """
    return JoPayError(
        ErrorCode.RATE_LIMITED,
        retry_after=usage.reset,
        headers={"Retry-After": str(usage.reset)},
    )


def plan_operation_count(
    request: HttpRequest, *, partner: Partner, merchant_id: uuid.UUID
) -> ratelimits.Usage:
    """Count one operation on a merchant's plans; ``rate_limited`` once over."""
    usage = plan_operation_hit(request, partner=partner, merchant_id=merchant_id)
    if usage.exceeded:
        request.jopay_rate_usage = usage
        raise plan_operation_refusal(usage)
    return usage
