"""``/admin/login/`` with the portal's brute-force limit (D27).

Staff accounts can attach proofs and change partners, rates and chains, so
their sign-in gets the same counters as the portal's: 10 failures per 15
minutes per client address and per account name, refused (429) once either is
spent, and failing closed while the counters are unreachable. Django's own
admin login does the rest.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

from merchants.portal.auth import count_login_failure, login_blocked_for


@never_cache
def admin_login_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return admin.site.login(request)
    account = request.POST.get("username", "")
    wait = login_blocked_for(request, account)
    if wait:
        return HttpResponse(
            f"Too many failed sign-ins. Try again in {max(wait // 60, 1)} minute(s).",
            status=429,
            content_type="text/plain; charset=utf-8",
            headers={"Retry-After": str(wait)},
        )
    response = admin.site.login(request)
    # Django answers a refused sign-in with the form again (200) and a good
    # one with a redirect.
    if response.status_code == 200:
        count_login_failure(request, account)
    return response
