"""Refuse form posts whose text cannot be stored or even shown.

A form POST may declare its own charset (``multipart/form-data; charset=…``)
and Django decodes the body with it: ``unicode_escape`` turns ``\\ud800`` into
a lone surrogate, which no template can encode and PostgreSQL cannot store, so
every form that re-renders, hashes or saves the value answered 500. A
urlencoded form in another charset is worse: Django refuses to read it at all
(``BadRequest``) inside the CSRF check, and again inside the 400 and 500 pages
(they check CSRF too), so the error escaped the application: a bare 500 from
gunicorn for anyone posting to a public page (``/pay/…``, ``/onboard/…``).
One check at the door, before the CSRF check and any view reads
``request.POST``: a declared charset other than UTF-8, or any field name or
value with a lone surrogate or a NUL (text PostgreSQL cannot store), is a
plain 400 that never echoes what was sent. Other control characters are
storable and encodable; each form refuses them with its own error (the
webhook URL's D26 check). CSRF-exempt views outside the portal (the API, the
pay page's JSON routes) read their own bodies and answer in their own format.
"""

from __future__ import annotations

import codecs
import unicodedata
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

PORTAL_PREFIX = "/portal/"
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
REFUSAL = "Bad request: the form could not be read as UTF-8 text."


def _declares_other_charset(request: HttpRequest) -> bool:
    charset = request.content_params.get("charset")
    if charset is None:
        return False
    try:
        return codecs.lookup(charset).name != "utf-8"
    except LookupError:
        return True


def _unstorable(value: str) -> bool:
    """A lone surrogate (no UTF-8 for it) or a NUL (PostgreSQL refuses it)."""
    return "\x00" in value or any(unicodedata.category(c) == "Cs" for c in value)


def _has_bad_field(request: HttpRequest) -> bool:
    for key, values in request.POST.lists():
        if _unstorable(key):
            return True
        if any(_unstorable(value) for value in values):
            return True
    return any(
        _unstorable(key) or _unstorable(upload.name or "")
        for key, upload in request.FILES.items()
    )


def unreadable_form(request: HttpRequest) -> bool:
    """True if this form POST holds text no page may use (see above)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    if request.content_type not in FORM_TYPES:
        return False  # JSON bodies (SSO) are parsed and checked by their views
    return _declares_other_charset(request) or _has_bad_field(request)


class FormTextMiddleware:
    """Answer 400 to a form POST that ``unreadable_form`` refuses.

    In ``process_view``, before the CSRF check's: a CSRF-exempt view outside
    the portal reads its own body and answers in its own format (the API,
    the pay page's JSON routes, D3), so it is left to do so.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args, view_kwargs
    ) -> HttpResponse | None:
        if getattr(view_func, "csrf_exempt", False) and not (
            request.path_info.startswith(PORTAL_PREFIX)
        ):
            return None
        if unreadable_form(request):
            return HttpResponseBadRequest(REFUSAL, content_type="text/plain")
        return None
