"""Refuse portal form posts whose text cannot be stored or even shown.

A form POST may declare its own charset (``multipart/form-data; charset=…``)
and Django decodes the body with it: ``unicode_escape`` turns ``\\ud800`` into
a lone surrogate, which no template can encode and PostgreSQL cannot store, so
every form that re-renders, hashes or saves the value answered 500. One check
at the door, before any portal or sign-in view reads ``request.POST``: a
declared charset other than UTF-8, or any field name or value with a lone
surrogate or a NUL (text PostgreSQL cannot store), is a plain 400 that never
echoes what was sent. Other control characters are storable and encodable;
each form refuses them with its own error (the webhook URL's D26 check).
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
    """True if this form POST holds text the portal must not use (see above)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    if request.content_type not in FORM_TYPES:
        return False  # JSON bodies (SSO) are parsed and checked by their views
    return _declares_other_charset(request) or _has_bad_field(request)


class PortalFormTextMiddleware:
    """Answer 400 to a ``/portal/`` form POST that ``unreadable_form`` refuses."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(PORTAL_PREFIX) and unreadable_form(request):
            return HttpResponseBadRequest(REFUSAL, content_type="text/plain")
        return self.get_response(request)
