"""Who may see a portal page, and which rows: the partner user's partner, one mode.

Every portal view is wrapped in ``portal_view``: it sends anonymous visitors to
the login page, refuses users without an active ``PartnerUser``, and sets
``request.partner`` and ``request.tenant`` (the partner plus the mode chosen in
the session, D10). Views read tenant rows only through ``request.tenant``
(selectors or ``for_tenant``), so another partner's id, or the other mode's,
simply is not there: ``Http404`` (or a ``not_found``-family ``JoPayError``)
renders one friendly 404 page, identical for foreign and missing ids, in the
way healthchecks' ``_get_rw_project_for_user`` does.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from jopay_project import ratelimits
from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.formats import parse_uuid_text
from jopay_project.tenancy import Tenant
from merchants.audit import actor_set
from merchants.models import AuditEntry, Partner, PartnerUser

SESSION_TEST_MODE = "portal_test_mode"

# Codes that mean "no such row for you": the portal answers its 404 page.
NOT_FOUND_CODES = frozenset({ErrorCode.NOT_FOUND, ErrorCode.PLAN_NOT_FOUND})

# The portal's pages (GET); every other portal URL is a POST-only action.
PAGE_URL_NAMES = frozenset(
    {
        "dashboard",
        "requests",
        "request-detail",
        "merchants",
        "merchant-detail",
        "plans",
        "plan-detail",
        "api-keys",
        "webhooks",
        "settings",
        "activity",
        "password",
    }
)


def partner_user_for(user) -> PartnerUser | None:
    """The active portal identity of ``user``: an active user of an active partner.

    Never a staff or superuser account, even one linked to a partner: staff
    never act as a partner (D25, D33), and a portal user later given staff
    status had kept the partner's portal, secrets included, beside the admin.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_staff or user.is_superuser:
        return None
    partner_user = (
        PartnerUser.objects.select_related("partner").filter(user=user).first()
    )
    if partner_user is None or not partner_user.partner.is_active:
        return None
    return partner_user


def session_test_mode(request: HttpRequest) -> bool:
    return bool(request.session.get(SESSION_TEST_MODE, False))


def portal_tenant(partner: Partner, request: HttpRequest) -> Tenant:
    return Tenant(partner=partner, test_mode=session_test_mode(request))


def not_found_page(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/not_found.html", status=404)


def is_portal_page(path: str) -> bool:
    """True if ``path`` (no query) is a portal page a browser may GET."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.namespace == "portal" and match.url_name in PAGE_URL_NAMES


def login_next(request: HttpRequest) -> str:
    """Where to go after signing in: this URL for a GET, else the page the form
    was on (a same-origin portal ``Referer``), else the dashboard.

    An action URL is POST-only: sent there after sign-in, the browser's GET
    would meet a 405. The action itself is not replayed; the user sees the
    page again and repeats it.
    """
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    return referer_page(request) or reverse("portal:dashboard")


def referer_page(request: HttpRequest) -> str | None:
    """The page a form was posted from: a same-origin portal page ``Referer``
    (path and query), else ``None``."""
    referer = request.headers.get("Referer", "")
    if url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(referer)
        if parts.netloc and is_portal_page(parts.path):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return None


FORM_MODE_FIELD = "portal_mode"  # templates/portal/_mode_field.html


def _follow_the_forms_mode(request: HttpRequest) -> None:
    """An action acts in the mode of the page its form was on.

    The mode lives in the session, so a form left open in a live tab, after
    another tab switched to test, revoked or cancelled nothing: its live id
    was a 404 in test mode. Every portal form says its page's mode; a POST
    from the other mode switches the session to it (both modes are the
    user's own), so the action and the page it redirects to agree.
    """
    if request.method != "POST":
        return
    posted = request.POST.get(FORM_MODE_FIELD)
    if posted not in ("live", "test"):
        return
    if (posted == "test") != session_test_mode(request):
        request.session[SESSION_TEST_MODE] = posted == "test"
        messages.info(request, f"Switched to {posted} mode, where that page was.")


def portal_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login + partner membership + tenant; 404 page for rows that are not yours.

    CSRF is enforced on every unsafe method (``csrf_protect``) and no portal page
    is cached by the browser or a proxy (``never_cache``): they show secrets.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(login_next(request), settings.LOGIN_URL)
        partner_user = partner_user_for(request.user)
        if partner_user is None and (
            request.user.is_staff or request.user.is_superuser
        ):
            # A staff account is not signed out by a GET: a link to /portal/
            # sent to staff would otherwise end their admin session.
            return render(request, "portal/staff_account.html", status=403)
        if partner_user is None:
            # A removed membership or a deactivated partner: the session must
            # not linger with portal access.
            logout(request)
            return redirect_to_login(login_next(request), settings.LOGIN_URL)
        request.partner = partner_user.partner
        _follow_the_forms_mode(request)
        request.tenant = portal_tenant(partner_user.partner, request)
        actor_set(AuditEntry.ActorKind.PORTAL_USER, request.user.get_username())
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return not_found_page(request)
        except JoPayError as err:
            if err.code in NOT_FOUND_CODES:
                return not_found_page(request)
            raise

    return never_cache(csrf_protect(wrapper))


def report_error(request: HttpRequest, err: JoPayError) -> None:
    """Show a service's refusal as a message carrying its registry code."""
    if err.code in NOT_FOUND_CODES:
        raise Http404
    messages.error(request, f"{err.message} ({err.code})", extra_tags=str(err.code))


def over_rate_limit(request: HttpRequest, group: str) -> bool:
    """Count a portal action in its API group's D27 limit, per partner; on the
    limit, show ``rate_limited`` and return ``True`` (the caller does nothing).

    The portal's buttons do what the API does (re-verify reads the chain for up
    to 10 s in the web worker, resend queues a send): without the API's limit
    they were a way around it, and a script posting them held web workers.
    """
    # A partner given a higher API limit gets it here too (as JoPayApiView).
    rate = request.partner.rate_limit_overrides.get(group) or None
    usage = ratelimits.hit(request, group, f"partner:{request.partner.pk}", rate=rate)
    if usage.exceeded:
        report_error(request, JoPayError(ErrorCode.RATE_LIMITED))
    return usage.exceeded


def parse_id(value: str) -> uuid.UUID:
    """A path id as a UUID (D1, ``parse_uuid_text``); anything else is the same
    404 as an unknown id."""
    try:
        return parse_uuid_text(value)
    except ValueError:
        raise Http404 from None
