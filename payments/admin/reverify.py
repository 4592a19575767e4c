"""The admin's "Re-verify the attached proof now" over a selection of requests.

Each row goes through ``proof_reverify`` (D35) within one shared time budget,
and every change it makes is logged with the staff user (a LogEntry).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest

from jopay_project.errors import JoPayError
from payments.models import PaymentRequest

PR = PaymentRequest

# The re-verify action's time for its whole selection, under gunicorn's 30 s.
ADMIN_REVERIFY_BUDGET_SECONDS = 20.0


def reverify_selection(
    modeladmin, request: HttpRequest, queryset, *, check: Callable[..., PR]
) -> None:
    """Re-verify each selected request's proof with ``check`` (``proof_reverify``).

    One budget for the whole selection: each check may wait up to 10 s on a
    hung node, and three of them outlasted gunicorn's 30 s worker timeout
    (the worker killed, no page, a 502).
    """
    say = modeladmin.message_user
    deadline = time.monotonic() + ADMIN_REVERIFY_BUDGET_SECONDS
    for pr in queryset:
        if pr.proof_status not in (PR.ProofStatus.ATTACHED, PR.ProofStatus.MISMATCH):
            say(
                request,
                f"{pr.reference}: no proof to check ({pr.proof_status}).",
                messages.WARNING,
            )
            continue
        if pr.status == PR.Status.CANCELLED:
            # D18: final; proof_reverify hands it back unchecked, and
            # "proof is mismatch." read as the chain's fresh answer.
            say(
                request,
                f"{pr.reference}: cancelled; its proof is not checked again.",
                messages.WARNING,
            )
            continue
        left = deadline - time.monotonic()
        if left < 1:
            say(
                request,
                f"{pr.reference}: not checked, this action's time is used"
                " up; select it again (an attached proof is also re-checked"
                " in the background).",
                messages.WARNING,
            )
            continue
        try:
            fresh = check(request=pr, budget=min(left, 10.0))
        except JoPayError as err:
            say(request, f"{pr.reference}: {err.code} — {err.message}", messages.ERROR)
            # A mismatch is attached again before the node is asked: that
            # change (and its payment.proof_attached) is staff's too.
            now = PR.objects.filter(pk=pr.pk).values_list("proof_status", flat=True)
            status = now.first()
            if status is not None and status != pr.proof_status:
                modeladmin.log_change(
                    request, pr, f"Re-verified the proof: {status} ({err.code})"
                )
        else:
            say(request, f"{pr.reference}: proof is {fresh.proof_status}.")
            modeladmin.log_change(
                request, fresh, f"Re-verified the proof: {fresh.proof_status}"
            )
