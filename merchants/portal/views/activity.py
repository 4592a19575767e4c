"""``/portal/activity/``: the partner's audit trail, newest first (``AuditEntry``).

Both modes and the mode-less changes (webhooks, settings) in one list: who
revoked a key or repointed the webhooks matters whichever mode is shown.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from merchants.models import AuditEntry

from ..access import portal_view

PAGE_SIZE = 50


@require_GET
@portal_view
def activity_view(request: HttpRequest) -> HttpResponse:
    entries = AuditEntry.objects.filter(partner=request.partner).order_by("-id")
    before = request.GET.get("before", "")
    if before.isascii() and before.isdigit() and len(before) < 19:
        entries = entries.filter(id__lt=int(before))
    page = list(entries[: PAGE_SIZE + 1])
    older = page[PAGE_SIZE - 1].id if len(page) > PAGE_SIZE else None
    return render(
        request,
        "portal/activity.html",
        {"nav": "activity", "entries": page[:PAGE_SIZE], "older": older},
    )
