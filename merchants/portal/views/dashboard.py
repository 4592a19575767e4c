"""``/portal/``: the dashboard (spec §12.5)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..access import portal_view
from ..dashboard import dashboard_for


@require_GET
@portal_view
def dashboard_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/dashboard.html",
        {"nav": "dashboard", "board": dashboard_for(request.tenant)},
    )
